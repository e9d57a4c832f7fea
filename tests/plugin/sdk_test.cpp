// The C++ wrapper's pure parts: descriptor contents, optional calls, event conversion.
#include <gtest/gtest.h>

#include <certhook/plugin.hpp>

namespace {

class DeployOnly : public certhook::Plugin {
 public:
  explicit DeployOnly(certhook::Context &) {}
  void deploy(certhook::Context &, const certhook::Event &) override {}
};

class WithRollback : public certhook::Plugin {
 public:
  explicit WithRollback(certhook::Context &) {}
  void deploy(certhook::Context &, const certhook::Event &) override {}
  void rollback(certhook::Context &, const certhook::Event &) override {}
};

const certhook_option_spec opts[] = {
    certhook::option("dir", CERTHOOK_OPTION_PATH, "a dir", CERTHOOK_OPTION_REQUIRED),
    certhook::option("greeting", CERTHOOK_OPTION_STRING, "a word", 0, "\"hi\""),
};

}  // namespace

TEST(PluginSdk, DescriptorDeclaresOnlyOverriddenCalls) {
  using A = certhook::detail::Adapter<DeployOnly>;
  const certhook_plugin *d = A::descriptor(nullptr, "deploy-only", "1.2.3", "d", 0, opts,
                                           certhook::detail::option_count(opts));
  EXPECT_EQ(d->size, sizeof(certhook_plugin));
  EXPECT_EQ(d->abi_major, CERTHOOK_ABI_MAJOR);
  EXPECT_EQ(d->abi_minor, CERTHOOK_ABI_MINOR);
  EXPECT_STREQ(d->name, "deploy-only");
  EXPECT_EQ(d->option_count, 2u);
  EXPECT_STREQ(d->options[1].default_value, "\"hi\"");
  EXPECT_EQ(d->options[0].flags, CERTHOOK_OPTION_REQUIRED);
  EXPECT_NE(d->create, nullptr);
  EXPECT_NE(d->deploy, nullptr);
  EXPECT_EQ(d->preflight, nullptr);
  EXPECT_EQ(d->rollback, nullptr);
  static_assert(!certhook::detail::Adapter<WithRollback>::has_preflight);
  static_assert(certhook::detail::Adapter<WithRollback>::has_rollback);
  EXPECT_EQ(certhook::detail::option_count(nullptr), 0u);
}

TEST(PluginSdk, EventCopiesCertificatesAndRespectsStructSizes) {
  const char *domains[] = {"a.test", "www.a.test"};
  certhook_certificate full{sizeof(certhook_certificate), "a.test", domains, 2, "/live/a", "/live/a/cert.pem",
                            "/live/a/privkey.pem", "/live/a/chain.pem", "/live/a/fullchain.pem", "ff00",
                            "2027-01-01T00:00:00Z", "issued"};
  // A certificate struct from a (hypothetical) older host that ends after the domains.
  certhook_certificate old = full;
  old.size = static_cast<uint32_t>(offsetof(certhook_certificate, lineage));
  const certhook_certificate *certs[] = {&full, &old};
  certhook_deploy_event e{sizeof(certhook_deploy_event), "h", certs, 2, 3, 1};
  certhook::Event ev = certhook::Event::from(&e);
  EXPECT_EQ(ev.hook, "h");
  EXPECT_EQ(ev.attempt, 3u);
  EXPECT_TRUE(ev.dry_run);
  ASSERT_EQ(ev.certificates.size(), 2u);
  EXPECT_EQ(ev.certificates[0].domains, (std::vector<std::string>{"a.test", "www.a.test"}));
  EXPECT_EQ(ev.certificates[0].fullchain_path, "/live/a/fullchain.pem");
  EXPECT_EQ(ev.certificates[0].reason, "issued");
  EXPECT_EQ(ev.certificates[1].name, "a.test");
  EXPECT_TRUE(ev.certificates[1].cert_path.empty());
  EXPECT_TRUE(ev.certificates[1].fingerprint.empty());
}

TEST(PluginSdk, ThrowIfFailedMapsStatusesToTheWrappersExceptions) {
  EXPECT_NO_THROW(certhook::throw_if_failed(CERTHOOK_OK, "fine"));
  EXPECT_THROW(certhook::throw_if_failed(CERTHOOK_PERMANENT, "no"), certhook::PermanentError);
  try {
    certhook::throw_if_failed(CERTHOOK_FAILED, "try again");
    FAIL() << "FAILED did not throw";
  } catch (const certhook::PermanentError &) {
    FAIL() << "FAILED became permanent";
  } catch (const std::runtime_error &e) {
    EXPECT_STREQ(e.what(), "try again");
  }
  // Through the adapter: the status and message the host sees.
  struct Statused : certhook::Plugin {
    explicit Statused(certhook::Context &) {}
    void deploy(certhook::Context &, const certhook::Event &e) override {
      certhook::throw_if_failed(static_cast<certhook_status>(e.attempt - 1), "attempt " + std::to_string(e.attempt));
    }
  };
  using A = certhook::detail::Adapter<Statused>;
  certhook::Context none(nullptr);
  Statused plugin(none);
  for (uint32_t attempt : {1u, 2u, 3u}) {
    certhook_deploy_event e{sizeof(certhook_deploy_event), "h", nullptr, 0, attempt, 0};
    EXPECT_EQ(A::deploy(&plugin, nullptr, &e), static_cast<certhook_status>(attempt - 1));
  }
}

TEST(PluginSdk, DeclinesAHostOfAnotherAbiMajor) {
  using A = certhook::detail::Adapter<WithRollback>;
  certhook_host_api other{};
  other.size = sizeof other;
  other.abi_major = CERTHOOK_ABI_MAJOR + 1;
  EXPECT_EQ(A::descriptor(&other, "r", "1", "d", 0, nullptr, 0), nullptr);
  certhook_host_api same = other;
  same.abi_major = CERTHOOK_ABI_MAJOR;
  EXPECT_NE(A::descriptor(&same, "r", "1", "d", 0, nullptr, 0), nullptr);
  certhook::detail::host() = nullptr;
}
