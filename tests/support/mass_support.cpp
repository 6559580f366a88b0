#include "tests/support/mass_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>

namespace qflash::test {

Mount::Mount(const std::string& source, const std::string& dir, const std::string& type,
             const std::string& options)
    : dir_(dir) {
  std::string cmd = "mount";
  if (!type.empty()) cmd += " -t " + type;
  if (!options.empty()) cmd += " -o " + quote(options);
  mounted_ = run(cmd + " " + quote(source) + " " + quote(dir)).status == 0;
  if (!mounted_) ADD_FAILURE() << "could not mount " << source << " on " << dir;
}

Mount::~Mount() {
  if (mounted_) must("umount " + quote(dir_));
}

std::vector<uint64_t> expect_run_failed(const CommandResult& r,
                                        const std::vector<std::string>& causes) {
  std::vector<uint64_t> reached;
  EXPECT_TRUE(r.status == 1 || r.status == 2) << r.status << ": " << r.err;
  const std::string first = r.err.substr(0, r.err.find('\n'));
  for (const auto& c : causes) EXPECT_NE(first.find(c), std::string::npos) << r.err;
  std::istringstream lines(r.err.substr(std::min(r.err.size(), first.size() + 1)));
  std::smatch m;
  const std::regex line(": failed after .* \\(([0-9]+) bytes\\) reached it$");
  for (std::string l; std::getline(lines, l);) {
    EXPECT_TRUE(std::regex_search(l, m, line)) << "unexpected line: " << l << "\n" << r.err;
    if (!m.empty()) reached.push_back(std::stoull(m[1]));
  }
  if (r.status == 1) {
    EXPECT_TRUE(reached.empty()) << "exit 1 says nothing was written: " << r.err;
  }
  if (r.status == 2) {
    EXPECT_FALSE(reached.empty()) << r.err;
  }
  return reached;
}

void expect_reported_bytes_on(const std::string& want, const std::string& target,
                              uint64_t reported, bool at_least) {
  constexpr size_t kBlock = 4096, kHead = 1u << 20;
  const std::vector<uint8_t> w = read_file(want), got = read_file(target);
  ASSERT_GE(got.size(), w.size()) << target;
  uint64_t image_bytes = 0;
  for (size_t at = 0; at < w.size(); at += kBlock) {
    const size_t n = std::min(kBlock, w.size() - at);
    const auto g = got.begin() + long(at);
    if (at >= kHead && std::equal(g, g + long(n), w.begin() + long(at))) {
      image_bytes += n;
      continue;
    }
    ASSERT_TRUE(std::all_of(g, g + long(n), [](uint8_t b) { return b == 0; }))
        << target << " at " << at << ": neither the image's bytes nor zeros";
  }
  if (at_least)
    EXPECT_GE(image_bytes, reported) << target << ": the report says more than is on it";
  else
    EXPECT_EQ(image_bytes, reported) << target << ": not what the report says";
}

std::string json_query(const std::string& text, const std::string& expr) {
  ScratchDir dir;
  write_file(dir / "report.json", std::vector<uint8_t>(text.begin(), text.end()));
  CommandResult r = run("python3 -c " +
                        quote("import json,sys\nd = json.load(open(sys.argv[1]))\nprint(" + expr + ")") +
                        " " + quote(dir / "report.json"));
  if (r.status != 0) ADD_FAILURE() << "bad JSON or query '" << expr << "': " << r.err << "\n" << text;
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace qflash::test
