// The shipped deployment files stay loadable: the Kubernetes manifests parse, and the configs
// they mount pass the same strict loaders the roles use (an unknown or misspelled key fails).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/base/config.h"
#include "learner/learner_config.h"
#include "nlohmann/json.hpp"
#include "scheduler/scheduler_config.h"
#include "tests/testing/subprocess.h"

namespace seamless {
namespace {

using testing::SourceDir;

TEST(DeployConfigTest, MountedConfigsLoadStrictly) {
  SchedulerConfig scheduler;
  absl::Status s = LoadConfigFile(SourceDir() + "/deploy/k8s/config/scheduler.yaml", &scheduler);
  EXPECT_TRUE(s.ok()) << s;
  LearnerConfig learner;
  s = LoadConfigFile(SourceDir() + "/deploy/k8s/config/learner.yaml", &learner);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(learner.checkpoint_every, 1);
}

TEST(DeployConfigTest, EveryManifestDocumentNamesItsKind) {
  int documents = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + "/deploy/k8s")) {
    if (entry.path().extension() != ".yaml" || entry.path().filename() == "kustomization.yaml") {
      continue;
    }
    for (const YAML::Node& doc : YAML::LoadAllFromFile(entry.path().string())) {
      if (!doc || doc.IsNull()) continue;
      ++documents;
      EXPECT_TRUE(doc["apiVersion"] && doc["kind"] && doc["metadata"]["name"])
          << entry.path() << " has a document without apiVersion/kind/metadata.name";
    }
  }
  EXPECT_GE(documents, 6);
}

TEST(DeployConfigTest, GrafanaDashboardIsJsonWithPanels) {
  std::ifstream in(SourceDir() + "/deploy/grafana/seamless-rollout.json");
  ASSERT_TRUE(in.good());
  nlohmann::json dash = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(dash.is_discarded());
  EXPECT_GE(dash["panels"].size(), 8u);
}

}  // namespace
}  // namespace seamless
