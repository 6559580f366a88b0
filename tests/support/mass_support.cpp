#include "tests/support/mass_support.h"

#include <gtest/gtest.h>

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
