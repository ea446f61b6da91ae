/*
 * cmd_run.c - `ksmpreload [-p POLICY|NAME] [--] COMMAND [ARG]...`: run a
 * command with libksmpreload.so preloaded.
 *
 * The library's absolute path is appended to LD_PRELOAD (once); -p sets
 * KSMP_POLICY to a policy file, or to NAME.policy in the policy directory
 * (KSMP_POLICY_DIR, else the compiled-in one). The library is, in order:
 * $KSMP_LIBRARY; libksmpreload.so next to this executable or in ../preload
 * beside its folder (a build tree);
 * the installed KSMP_PKGLIBDIR/libksmpreload.so. Warns when the loader
 * will not preload into the target (static, or setuid/setgid). Exits like
 * a shell when the command cannot be run: 127 not found, 126 not
 * executable; 2 on usage errors, 1 when the policy or library is missing.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "ksmp_ksmd.h"
#include "policy.h"

static bool readable_file(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, R_OK) == 0;
}

/* The library to preload, as an absolute path, into out; says why not on
 * stderr. */
int ksmp_find_library(char *out, size_t size)
{
	const char *env = getenv("KSMP_LIBRARY");
	if (env && *env) {
		if (!realpath(env, out)) {
			fprintf(stderr, "ksmpreload: KSMP_LIBRARY=%s: %s\n", env, strerror(errno));
			return -1;
		}
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			/* A build tree keeps the command in cli/ and the
			 * library in preload/, beside it. */
			static const char *const rel[] = { "", "/../preload" };
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				char cand[PATH_MAX], real[PATH_MAX];
				if ((size_t)snprintf(cand, sizeof(cand), "%s%s/libksmpreload.so",
						     exe, rel[i]) < sizeof(cand) &&
				    readable_file(cand) && realpath(cand, real) &&
				    (size_t)snprintf(out, size, "%s", real) < size)
					return 0;
			}
		}
	}
	if ((size_t)snprintf(out, size, "%s/libksmpreload.so", KSMP_PKGLIBDIR) < size &&
	    readable_file(out))
		return 0;
	fprintf(stderr, "ksmpreload: cannot find libksmpreload.so (looked next to "
		"this program and in %s; set KSMP_LIBRARY)\n", KSMP_PKGLIBDIR);
	return -1;
}

/* -p ARG: a file path, or the name of a shipped policy. */
int ksmp_find_policy(const char *arg, char *out, size_t size)
{
	size_t alen = strlen(arg);
	bool dotpolicy = alen > 7 && !strcmp(arg + alen - 7, ".policy");
	if (strchr(arg, '/') || (dotpolicy && readable_file(arg))) {
		errno = 0;
		if (!realpath(arg, out) || !readable_file(out)) {
			fprintf(stderr, "ksmpreload: policy %s: %s\n", arg,
				errno ? strerror(errno) : "not a readable file");
			return -1;
		}
		return 0;
	}
	const char *dir = getenv("KSMP_POLICY_DIR");
	bool one = dir && *dir;
	char file[NAME_MAX + 1], path[PATH_MAX];
	if ((size_t)snprintf(file, sizeof(file), "%s%s", arg, dotpolicy ? "" : ".policy") >=
	    sizeof(file)) {
		fprintf(stderr, "ksmpreload: policy name too long: %s\n", arg);
		return -1;
	}
	int r = ksmp_policy_lookup(one ? dir : KSMP_POLICYDIR, one ? NULL : KSMP_VENDORPOLICYDIR,
				   file, path, sizeof(path));
	if (r == KSMP_POLICY_MASKED) {
		fprintf(stderr, "ksmpreload: policy '%s' is masked (%s/%s is empty or "
			"links to /dev/null)\n", arg, KSMP_POLICYDIR, file);
		return -1;
	}
	if (r != 0 || !readable_file(path) || !realpath(path, out)) {
		if (one)
			fprintf(stderr, "ksmpreload: no policy named '%s' (no readable "
				"%s/%s)\n", arg, dir, file);
		else
			fprintf(stderr, "ksmpreload: no policy named '%s' (no readable %s "
				"in %s or %s)\n", arg, file, KSMP_POLICYDIR,
				KSMP_VENDORPOLICYDIR);
		return -1;
	}
	(void)size;
	return 0;
}

/* Append lib to LD_PRELOAD unless it is already one of its entries. */
int ksmp_add_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1);
	size_t len = strlen(lib);
	for (const char *p = old; *p;) {
		size_t n = strcspn(p, ": \t");
		if (n == len && !strncmp(p, lib, len))
			return 0;
		p += n;
		p += strspn(p, ": \t");
	}
	size_t total = strlen(old) + 1 + len + 1;
	char *v = malloc(total);
	if (!v)
		return -1;
	snprintf(v, total, "%s:%s", old, lib);
	int r = setenv("LD_PRELOAD", v, 1);
	free(v);
	return r;
}

/* Resolve cmd like execvp does, for the warnings only. */
static bool resolve(const char *cmd, char *out, size_t size)
{
	if (strchr(cmd, '/'))
		return (size_t)snprintf(out, size, "%s", cmd) < size;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		if ((size_t)snprintf(out, size, "%.*s%s%s", (int)n, path, n ? "/" : "",
				     cmd) < size && access(out, X_OK) == 0)
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

/* 1: dynamically linked ELF; 0: static ELF; -1: not ELF / unreadable. */
static int has_interp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ret = -1;
	unsigned char ident[EI_NIDENT];
	if (pread(fd, ident, sizeof(ident), 0) != (ssize_t)sizeof(ident) ||
	    memcmp(ident, ELFMAG, SELFMAG))
		goto out;
	if (ident[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
			goto out;
		ret = 0;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
			    (ssize_t)sizeof(ph))
				break;
			if (ph.p_type == PT_INTERP)
				ret = 1;
		}
	} else if (ident[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;
		if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
			goto out;
		ret = 0;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf32_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint32_t)i * eh.e_phentsize)) !=
			    (ssize_t)sizeof(ph))
				break;
			if (ph.p_type == PT_INTERP)
				ret = 1;
		}
	}
out:
	close(fd);
	return ret;
}

static void warn_target(const char *cmd)
{
	char path[PATH_MAX];
	struct stat sb;
	if (!resolve(cmd, path, sizeof(path)) || stat(path, &sb) != 0)
		return;
	if (has_interp(path) == 0)
		fprintf(stderr, "ksmpreload: warning: %s is statically linked: "
			"the library cannot be preloaded, nothing will be merged\n", path);
	if (((sb.st_mode & S_ISUID) && sb.st_uid != getuid()) ||
	    ((sb.st_mode & S_ISGID) && sb.st_gid != getgid()))
		fprintf(stderr, "ksmpreload: warning: %s is set-user/group-ID: the "
			"loader ignores LD_PRELOAD paths outside its trusted "
			"directories, and KSMP_* variables\n", path);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "ksmpreload: %s\nUsage: ksmpreload [-n] [-p POLICY|NAME] [--] COMMAND [ARG]...\n"
		"Try 'ksmpreload --help'.\n", msg);
	return 2;
}

/* Run from the build tree (this executable is the one built in
 * KSMP_BUILD_CLIDIR): the shipped policies are in the source tree, not
 * installed, so KSMP_POLICY_DIR points there unless it is set. */
void ksmp_build_tree_env(void)
{
#if defined(KSMP_BUILD_CLIDIR) && defined(KSMP_SRC_POLICYDIR)
	char exe[PATH_MAX], dir[PATH_MAX];
	const char *env = getenv("KSMP_POLICY_DIR");
	if ((env && *env) || !realpath("/proc/self/exe", exe) ||
	    !realpath(KSMP_BUILD_CLIDIR, dir))
		return;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = '\0';
	struct stat sb;
	if (!strcmp(exe, dir) && stat(KSMP_SRC_POLICYDIR, &sb) == 0 && S_ISDIR(sb.st_mode))
		setenv("KSMP_POLICY_DIR", KSMP_SRC_POLICYDIR, 1);
#endif
}

static void print_diag(void *ctx, const char *file, unsigned line, const char *msg)
{
	(void)ctx;
	if (line)
		printf("  problem  %s:%u: %s\n", file, line, msg);
	else
		printf("  problem  %s: %s\n", file, msg);
}

/* --dry-run: what would be run, with which environment and policy. */
static int dry_run(char **cmd)
{
	static struct ksmp_policy p;
	static char buf[KSMP_POLICY_MAX_FILE + 1];
	static const char *const vars[] = {
		"LD_PRELOAD", "KSMP_POLICY", "KSMP_POLICY_DIR", "KSMP_LOG",
		"KSMP_STRICT", "KSMP_PROFILE",
	};
	char path[PATH_MAX], exe[PATH_MAX];
	for (size_t v = 0; v < sizeof(vars) / sizeof(vars[0]); v++) {
		const char *val = getenv(vars[v]);
		if (val)
			printf("%s=%s\n", vars[v], val);
	}
	bool found = resolve(cmd[0], path, sizeof(path)) && realpath(path, exe);
	printf("command  %s", found ? exe : cmd[0]);
	for (char **a = cmd + 1; *a; a++)
		printf(" %s", *a);
	printf("%s\n", found ? "" : "  (not found)");
	const char *envp = getenv("KSMP_POLICY"), *envd = getenv("KSMP_POLICY_DIR");
	int r = ksmp_policy_select(&p, envp, envd, found ? exe : cmd[0], cmd[0], buf,
				   sizeof(buf), print_diag, NULL);
	printf("policy   %s (name %s, mode %s)%s\n", p.source, p.name,
	       ksmp_mode_name((enum ksmp_mode)p.mode),
	       r ? ": cannot be used, the program would run unmerged" : "");
	int run = ksmp_ksmd_run();
	printf("ksmd     %s\n", run == 1 ? "running" : run < 0 ? "not available" :
	       "stopped: nothing would be merged");
	return !found ? 127 : r ? 1 : 0;
}

int ksmp_cmd_run(int argc, char **argv)
{
	const char *policy = NULL;
	bool dry = false;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-n") || !strcmp(a, "--dry-run")) {
			dry = true;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--policy")) {
			if (i + 1 >= argc)
				return usage_error("option -p needs an argument");
			policy = argv[++i];
		} else if (!strncmp(a, "--policy=", 9)) {
			policy = a + 9;
		} else if (!strncmp(a, "-p", 2)) {
			policy = a + 2;
		} else if (a[0] == '-' && a[1]) {
			char msg[128];
			snprintf(msg, sizeof(msg), "unknown option '%s'", a);
			return usage_error(msg);
		} else {
			break;
		}
	}
	if (i >= argc)
		return usage_error("no command given");

	char lib[PATH_MAX];
	if (ksmp_find_library(lib, sizeof(lib)) < 0)
		return 1;
	if (policy) {
		char pol[PATH_MAX];
		if (!*policy)
			return usage_error("empty policy name");
		if (ksmp_find_policy(policy, pol, sizeof(pol)) < 0)
			return 1;
		if (setenv("KSMP_POLICY", pol, 1) < 0) {
			perror("ksmpreload: setenv");
			return 1;
		}
	}
	if (ksmp_add_preload(lib) < 0) {
		perror("ksmpreload: setenv");
		return 1;
	}
	if (dry)
		return dry_run(argv + i);
	warn_target(argv[i]);
	ksmp_warn_ksmd(argv[i]);
	fflush(stdout);
	execvp(argv[i], argv + i);
	int e = errno;
	fprintf(stderr, "ksmpreload: %s: %s\n", argv[i], strerror(e));
	return e == ENOENT || e == ENOTDIR ? 127 : 126;
}
