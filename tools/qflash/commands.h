// The subcommands of `qflash`; each parses its own options (getopt_long,
// argv[0] is the subcommand name) and returns the exit code.
#pragma once

namespace qflash::cli {

int cmd_info(int argc, char** argv);
int cmd_map(int argc, char** argv);
int cmd_partitions(int argc, char** argv);
int cmd_read(int argc, char** argv);
int cmd_station(int argc, char** argv);
int cmd_write(int argc, char** argv);

}  // namespace qflash::cli
