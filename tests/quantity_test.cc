#include "crd/quantity.h"

#include <gtest/gtest.h>

namespace tessera::crd {
namespace {

int64_t Milli(const char* s) {
  Result<Quantity> q = Quantity::Parse(s);
  EXPECT_TRUE(q.ok()) << s << ": " << q.status().ToString();
  return q.ok() ? q->milli() : -1;
}

TEST(Quantity, ParsesKubernetesGrammar) {
  EXPECT_EQ(Milli("0"), 0);
  EXPECT_EQ(Milli("1"), 1000);
  EXPECT_EQ(Milli("500m"), 500);
  EXPECT_EQ(Milli("1.5"), 1500);
  EXPECT_EQ(Milli(".5"), 500);
  EXPECT_EQ(Milli("2."), 2000);
  EXPECT_EQ(Milli("+3"), 3000);
  EXPECT_EQ(Milli("-2"), -2000);
  EXPECT_EQ(Milli("20k"), 20000000);
  EXPECT_EQ(Milli("1Ki"), 1024000);
  EXPECT_EQ(Milli("64Gi"), (int64_t{64} << 30) * 1000);
  EXPECT_EQ(Milli("1.5Gi"), (int64_t{3} << 29) * 1000);
  EXPECT_EQ(Milli("2e3"), 2000000);
  EXPECT_EQ(Milli("2E-3"), 2);
  EXPECT_EQ(Milli("1n"), 1) << "sub-milli values round up, as MilliValue() does";
  EXPECT_EQ(Milli("1u"), 1);
  EXPECT_EQ(Milli("1001u"), 2);
  EXPECT_EQ(Milli("0.0001"), 1);
  EXPECT_EQ(Milli("000012"), 12000);
  EXPECT_EQ(Milli("9223372036854775807m"), INT64_MAX);
  EXPECT_EQ(Milli("8P"), INT64_C(8000000000000000000));
}

TEST(Quantity, RejectsMalformedAndOverflow) {
  for (const char* bad : {"",
                          "abc",
                          "1.2.3",
                          "1x",
                          "1KiB",
                          "Gi",
                          ".",
                          "-",
                          "1e",
                          "1e+",
                          "1e1.5",
                          "1 Gi",
                          "--1",
                          "10E",
                          "9Ei",
                          "9223372036854776",
                          "9223372036854775808m",
                          "99999999999999999999",
                          "1e400",
                          "1e19"}) {
    Result<Quantity> q = Quantity::Parse(bad);
    EXPECT_FALSE(q.ok()) << "accepted \"" << bad << "\"";
    if (!q.ok()) {
      EXPECT_TRUE(q.status().IsInvalidArgument());
    }
  }
  EXPECT_FALSE(Quantity::Parse(std::string(100, '1')).ok());
}

TEST(Quantity, FormatsCanonically) {
  EXPECT_EQ(Quantity::FromMilli(500).ToString(), "500m");
  EXPECT_EQ(Quantity::FromUnits(32).ToString(), "32");
  EXPECT_EQ(Quantity::FromUnits(2048).ToString(), "2048") << "decimal quantities keep plain digits";
  EXPECT_EQ(Quantity::FromBytes(int64_t{256} << 30).ToString(), "256Gi");
  EXPECT_EQ(Quantity::FromBytes(int64_t{1} << 40).ToString(), "1Ti");
  EXPECT_EQ(Quantity::FromBytes(1000).ToString(), "1000");
  EXPECT_EQ(Quantity::FromBytes(0).ToString(), "0");
  // Round trip through text keeps the value.
  for (const char* s : {"500m", "64Gi", "1.5", "20k", "130779Mi"}) {
    Quantity q = *Quantity::Parse(s);
    EXPECT_EQ(*Quantity::Parse(q.ToString()), q) << s;
  }
  EXPECT_EQ(Quantity::FromMilli(1500).UnitsCeil(), 2);
  EXPECT_EQ(Quantity::FromMilli(2000).UnitsCeil(), 2);
}

}  // namespace
}  // namespace tessera::crd
