/* SPDX-License-Identifier: Apache-2.0 */
/* The kx command layer: the command table's row type, the option table type
 * that one declaration per option feeds to the parser, help and completion, and
 * the helpers every command uses to talk to the terminal. Only cmd/ prints. */
#ifndef KX_CMD_H
#define KX_CMD_H

#include <kx/common.h>
#include <kx/config.h>
#include <stdio.h>

/* Exit codes, the same for every command (documented in the README):
 * 0 success; 1 any failure, usage errors included (as kubectl); exec returns the
 * remote command's code. */
enum { KX_EXIT_OK = 0, KX_EXIT_FAIL = 1 };

enum kx_opt_type {
	KX_OPT_END = 0,
	KX_OPT_BOOL,   /* int *: --flag, --flag=true|false; no separate argument */
	KX_OPT_STRING, /* const char **: --flag VALUE, --flag=VALUE */
	KX_OPT_INT,    /* long *: decimal */
	KX_OPT_LIST,   /* struct kx_strlist *: repeatable; each use appends one value */
};

#define KX_OPT_HIDDEN 0x1u /* parsed, but left out of help and completion */
#define KX_OPT_BARE 0x2u   /* a string option that may be given bare: --check = --check=DEFVAL */

struct kx_option {
	enum kx_opt_type type;
	char short_name;           /* 0 = none */
	const char *long_name;
	void *value;
	const char *argh;          /* placeholder in help: "NAME" */
	const char *help;          /* one line */
	const char *defval;        /* the default as help shows it, or NULL */
	const char *const *choices;/* NULL-terminated enumeration: validated, completed */
	const char *complete;      /* completion source for the value ("context", "namespace",
	                              "pod", "container", "file", …), or NULL */
	unsigned flags;
};

#define OPT_BOOL(s, l, v, h) { KX_OPT_BOOL, (s), (l), (v), NULL, (h), NULL, NULL, NULL, 0 }
#define OPT_STRING(s, l, v, a, h) { KX_OPT_STRING, (s), (l), (v), (a), (h), NULL, NULL, NULL, 0 }
#define OPT_STRING_DEF(s, l, v, a, d, h) { KX_OPT_STRING, (s), (l), (v), (a), (h), (d), NULL, NULL, 0 }
#define OPT_CHOICE(s, l, v, a, d, c, h) { KX_OPT_STRING, (s), (l), (v), (a), (h), (d), (c), NULL, 0 }
#define OPT_COMPLETE(s, l, v, a, src, h) { KX_OPT_STRING, (s), (l), (v), (a), (h), NULL, NULL, (src), 0 }
#define OPT_INT(s, l, v, a, d, h) { KX_OPT_INT, (s), (l), (v), (a), (h), (d), NULL, NULL, 0 }
#define OPT_LIST(s, l, v, a, h) { KX_OPT_LIST, (s), (l), (v), (a), (h), NULL, NULL, NULL, 0 }
#define OPT_END() { KX_OPT_END, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 }

struct kx_strlist {
	const char **items; /* point into argv; the list owns only the array */
	size_t n;
};
void kx_strlist_free(struct kx_strlist *l);

struct kx_command;
/* A command's function gets its positional arguments (argv[0] is the first one,
 * not the command name); args after "--" start at argv[dash] (dash = argc when
 * there was no "--"). */
struct kx_invocation {
	const struct kx_command *cmd;
	const char *path;   /* "config view": the command's name as typed, for messages */
	int argc;
	char **argv;
	int dash;           /* index of the first argument after "--", or -1 */
};

#define KX_CMD_HIDDEN 0x1u     /* not in `kx help` */

struct kx_command {
	const char *name;
	int (*run)(const struct kx_invocation *inv);
	const char *summary;       /* one line for `kx help` */
	const char *usage;         /* "kx version [--client] [-o json|yaml]" */
	const char *description;   /* a paragraph, or NULL */
	const char *examples;      /* lines, each starting with two spaces */
	const struct kx_option *options;
	const struct kx_command *const *subcommands; /* NULL-terminated */
	const char *args_complete; /* completion source for positionals */
	unsigned flags;
};

/* The command table (main.c: NULL-terminated) and the global options (globals.c). */
extern const struct kx_command *const kx_commands[];
/* One per command file. */
extern const struct kx_command kx_cmd_help, kx_cmd_options, kx_cmd_version, kx_cmd_config,
	kx_cmd_get, kx_cmd_exec, kx_cmd_attach, kx_cmd_port_forward, kx_cmd_forward,
	kx_cmd_complete, kx_cmd_expose, kx_cmd_create, kx_cmd_reach, kx_cmd_proxy;
/* Completion (complete.c, completion.c) and the man page (man.c). */
extern const struct kx_command kx_cmd_completion, kx_cmd_man;
extern const char *const kx_completion_shells[]; /* "bash", "zsh", "fish", NULL */
/* Whether completion knows a source named in args_complete or an option's complete. */
int kx_complete_source_known(const char *name);
/* The kx(1) man page, in roff, from the command and option tables. */
void kx_print_man(FILE *out);
extern const struct kx_option kx_global_options[];

struct kx_globals {
	const char *kubeconfig, *context, *cluster, *user, *namespace_, *server, *token;
	const char *username, *password, *certificate_authority, *client_certificate, *client_key;
	const char *tls_server_name, *request_timeout, *cache_dir;
	int insecure_skip_tls_verify, discovery_cache; /* -1: not given */
	long verbosity;
};
extern struct kx_globals kx_g;
void kx_globals_overrides(struct kx_config_overrides *ov);

/* Parsing (options.c). Returns 0, or prints a usage error and returns 1. */
int kx_parse_options(const char *path, const struct kx_option *const *tables,
		     int argc, char **argv, struct kx_invocation *inv);
const struct kx_option *kx_find_long(const struct kx_option *const *tables, const char *name,
				     size_t len);

/* Look a name up in a NULL-terminated command table. */
const struct kx_command *kx_find_command(const struct kx_command *const *table, const char *name);

/* Help (help.c). */
void kx_print_command_help(FILE *out, const struct kx_command *cmd, const char *path);
void kx_print_main_help(FILE *out);

/* Terminal words (output.c): every error line goes through these. */
void kx_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: "error: …" plus "See 'kx PATH --help' for usage."; returns 1. */
int kx_usage_error(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a libkx failure the way kubectl words it; returns KX_EXIT_FAIL. */
int kx_report(kx_err err, const struct kx_errbuf *eb);

/* Load the kubeconfig with the global flags applied; prints and returns NULL on error. */
struct kx_config *kx_load_config(void);
/* Load the config and make a client (tracing per -v). Prints and returns NULL on
 * error. *cfg_out (may be NULL) receives the config, for the caller to free. */
struct kx_client;
struct kx_client *kx_connect(struct kx_config **cfg_out);
/* Report a failed client call as kubectl words it: "Error from server (Reason): …",
 * "The connection to the server H was refused …", "Unable to connect …"; any
 * other error as kx_report does. Returns 1. */
int kx_report_call(struct kx_client *c, kx_err err, const struct kx_errbuf *eb);

/* The local terminal (tty.c): raw mode, restored by kx_tty_restore (also at exit). */
int kx_tty_raw(int fd);
/* Go-style durations ("1m0s", "500ms", "30s", bare seconds) in ms; -1 if malformed. */
long kx_parse_duration_ms(const char *s);
void kx_tty_restore(void);

/* exec and attach (exec.c): their shared flags, option table and session. */
struct kx_session_flags {
	const char *container;
	int in, tty, quiet;
	const char *pod_running_timeout;
};
extern struct kx_session_flags kx_session_flags;
extern const struct kx_option kx_session_options[];
int kx_run_session(const struct kx_invocation *inv, const char *target, char **argv);

/* Printing (print.c). */
/* -o json / -o yaml of a document; returns an exit code. */
int kx_print_doc(const cJSON *doc, const char *format);
int kx_print_result(const cJSON *obj, const char *format, const char *type, const char *verb,
		    const char *dry_run);

/* Creating generated objects (create.c; expose uses them too). */
extern const char *const kx_dry_run_choices[];    /* none client server */
extern const char *const kx_create_output_choices[]; /* json yaml name */
int kx_dry_run_client(const char *dry_run);
/* POST obj to the namespace's collection of resource (dryRun=All for "server"). */
kx_err kx_create_send(struct kx_client *c, const char *resource, const cJSON *obj,
		      const char *dry_run, const char *field_manager, cJSON **out, struct kx_errbuf *eb);
/* kx_report_call, but a 422 naming its object reads "The Service \"x\" is invalid: …". */
int kx_report_write(struct kx_client *c, kx_err err, const struct kx_errbuf *eb);
/* A kubectl-style table: add rows of ncols strings (copied), then print. */
struct kx_table {
	size_t ncols, nrows;
	char **cells;
};
int kx_table_add(struct kx_table *t, const char *const *row);
void kx_table_print(FILE *out, const struct kx_table *t);
void kx_table_free(struct kx_table *t);

#endif
