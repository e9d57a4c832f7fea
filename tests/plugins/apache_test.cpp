#include "server_fixture.hpp"
