// A store written before inputs were checked for UTF-8 may hold other bytes (a data path in the
// provenance): `repro report --format json` and `repro compare` write them as U+FFFD
// instead of failing in nlohmann's dump (type_error 316).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "reports/report_command.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

using nlohmann::json;

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct OldStore {
  TempDir dir;
  OldStore() {
    runner::Store store(dir.file("repro.db"));
    fill_store(store, "old", {{"adm", "0", 100, 10, {{"fid", 3.0}}, true, 50000}}, dir.path().string());
    // Provenance values are plain text columns: a Latin-1 é (E9) and two bytes that never occur in UTF-8.
    runner::put_provenance(store, "adm-s0", "", {{"data_path", "/data/caf\xE9/\xFF\xFE"}});
  }
  reports::StoreLocation where() const { return {dir.path().string(), ""}; }
};

TEST(Utf8Store, ReportJsonReplacesBytesThatAreNotUtf8) {
  OldStore s;
  reports::ReportArgs a;
  a.where = s.where();
  a.experiment = "old";
  a.format = "json";
  std::ostringstream out, err;
  ASSERT_EQ(reports::report_command(a, out, err), 0) << err.str();
  const json j = json::parse(out.str());  // throws when the text is not valid JSON (UTF-8)
  ASSERT_EQ(j["values"].size(), 1u);
  EXPECT_EQ(j["values"][0]["mean"], 3.0);
  EXPECT_EQ(j["provenance"][0]["entries"]["data_path"], "/data/caf" + kReplacement + "/" + kReplacement + kReplacement);
}

TEST(Utf8Store, CompareWritesAndReadsABaseline) {
  OldStore s;
  reports::CompareArgs a;
  a.where = s.where();
  a.experiment = "old";
  a.write_baseline = s.dir.file("baseline.json");
  std::ostringstream out, err;
  ASSERT_EQ(reports::compare_command(a, out, err), 0) << err.str();
  const json baseline = json::parse(read_file(a.write_baseline));
  EXPECT_EQ(baseline["values"][0]["mean"], 3.0);
  a.write_baseline = "";
  a.baseline = s.dir.file("baseline.json");
  a.junit = s.dir.file("junit.xml");
  std::ostringstream out2, err2;
  EXPECT_EQ(reports::compare_command(a, out2, err2), 0) << out2.str() << err2.str();
}

}  // namespace
}  // namespace repro::test
