/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands: each parses its own options and returns an exit status. */
#ifndef SNAPSET_COMMANDS_H
#define SNAPSET_COMMANDS_H

int cleanup_main(int argc, char **argv);
int complete_main(int argc, char **argv);
int daemon_main(int argc, char **argv);
int delete_main(int argc, char **argv);
int list_main(int argc, char **argv);
int run_main(int argc, char **argv);
int status_main(int argc, char **argv);
int watch_main(int argc, char **argv);
int writer_main(int argc, char **argv);

#endif
