#include "topology/gpu_models.h"

#include <gtest/gtest.h>

namespace tessera::topology {
namespace {

TEST(GpuModelTable, ProductNameBeatsPciIdAndUnknownKeepsProduct) {
  GpuModelTable t = GpuModelTable::BuiltIn();
  EXPECT_EQ(t.ModelFor(0x10de, 0x20b0, "NVIDIA A100-SXM4-40GB"), "A100");
  EXPECT_EQ(t.ModelFor(0x10de, 0x20b0, "GA100 [A100 SXM4 40GB]"), "A100");  // via PCI id
  EXPECT_EQ(t.ModelFor(0x10de, 0x9999, "Mystery GPU"), "Mystery GPU");
  EXPECT_EQ(t.MemoryFor("A100"), 40960u);
  EXPECT_EQ(t.MemoryFor("Mystery GPU"), 0u);
}

TEST(GpuModelTable, AliasTextExtendsTableAndRejectsBadLinesWholesale) {
  GpuModelTable t = GpuModelTable::BuiltIn();
  ASSERT_TRUE(
      t.LoadAliasText("# site aliases\n10de:9999 = L40S 46068\n\"Weird\" = X\nNVIDIA L4 = L4 23034 # c\n").ok());
  EXPECT_EQ(t.ModelFor(0x10de, 0x9999, "whatever"), "L40S");
  EXPECT_EQ(t.MemoryFor("L40S"), 46068u);
  EXPECT_EQ(t.ModelFor(0x10de, 0x1, "NVIDIA L4"), "L4");

  Status s = t.LoadAliasText("10de:aaaa = Good 100\nno equals sign here\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("line 2"), std::string::npos);
  EXPECT_EQ(t.ModelFor(0x10de, 0xaaaa, "p"), "p") << "a bad file must not apply half of itself";
  EXPECT_FALSE(t.LoadAliasText("k = M -5\n").ok());
  EXPECT_FALSE(t.LoadAliasText("k = M 10 extra\n").ok());
  EXPECT_FALSE(t.LoadAliasFile("/nonexistent/aliases").ok());
}

TEST(GpuModelTable, MemoryOverridesParseStrictly) {
  GpuModelTable t = GpuModelTable::BuiltIn();
  ASSERT_TRUE(t.LoadMemoryOverrides("A100=40000, T4=15000").ok());
  EXPECT_EQ(t.MemoryFor("A100"), 40000u);
  EXPECT_EQ(t.MemoryFor("T4"), 15000u);
  EXPECT_FALSE(t.LoadMemoryOverrides("A100").ok());
  EXPECT_FALSE(t.LoadMemoryOverrides("A100=0").ok());
  EXPECT_FALSE(t.LoadMemoryOverrides("A100=99999999999999").ok());
  EXPECT_FALSE(t.LoadMemoryOverrides("=5").ok());
  EXPECT_EQ(t.MemoryFor("A100"), 40000u) << "failed overrides leave the table as it was";
}

}  // namespace
}  // namespace tessera::topology
