/* SPDX-License-Identifier: BSD-3-Clause */
/* The built pam_phiguard.so loads with every symbol resolved and exports
 * exactly the pam_sm_* entry points it implements, nothing else; the push
 * client it loads for a push, push.so, exports exactly its table. */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pam/push_api.h"

#ifndef PAM_MODULE_PATH
#error "PAM_MODULE_PATH must name the built module (see Makefile.am)"
#endif
#ifndef PUSH_OBJECT_PATH
#error "PUSH_OBJECT_PATH must name the built push.so (see Makefile.am)"
#endif

/* What the module implements: auth, account and session. */
static const char *const expected[] = {
    "pam_sm_authenticate", "pam_sm_setcred",       "pam_sm_acct_mgmt",
    "pam_sm_open_session", "pam_sm_close_session",
};
#define N_EXPECTED (sizeof(expected) / sizeof(expected[0]))

/* What push.so exports: the one table. */
static const char *const push_expected[] = {PUSH_API_SYMBOL};

/* Entry points libpam would call if they existed; none may leak out. */
static const char *const absent[] = {
    "pam_sm_chauthtok",
};

static void test_dlopen(void **state)
{
	void *h;
	size_t i;

	/* RTLD_NOW: an unresolved symbol fails here, not inside sshd. */
	h = dlopen(PAM_MODULE_PATH, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		fail_msg("dlopen %s: %s", PAM_MODULE_PATH, dlerror());
	for (i = 0; i < N_EXPECTED; i++)
		assert_non_null(dlsym(h, expected[i]));
	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		assert_null(dlsym(h, absent[i]));
	/* Internals of libpgpam and libpgcommon stay hidden. */
	assert_null(dlsym(h, "auth_authenticate"));
	assert_null(dlsym(h, "account_acct_mgmt"));
	assert_null(dlsym(h, "session_report"));
	assert_null(dlsym(h, "proto_parse"));
	/* Nothing of the push client is in the module. */
	assert_null(dlsym(h, PUSH_API_SYMBOL));
	assert_int_equal(dlclose(h), 0);
}

static void test_dlopen_push(void **state)
{
	const struct push_api *api;
	void *h;

	h = dlopen(PUSH_OBJECT_PATH, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		fail_msg("dlopen %s: %s", PUSH_OBJECT_PATH, dlerror());
	api = dlsym(h, PUSH_API_SYMBOL);
	assert_non_null(api);
	assert_int_equal(api->version, PUSH_API_VERSION);
	assert_null(dlsym(h, "push_start"));
	assert_null(dlsym(h, "http_request"));
	assert_null(dlsym(h, "proto_parse"));
	assert_int_equal(dlclose(h), 0);
}

/* Bounds-checked view of the file. */
struct image {
	const unsigned char *p;
	size_t size;
};

static const void *at(const struct image *im, uint64_t off, uint64_t len)
{
	if (off > im->size || len > im->size - off)
		fail_msg("ELF structure outside the file");
	return im->p + off;
}

static int is_exported(const ElfW(Sym) * s)
{
	unsigned bind = ELF64_ST_BIND(s->st_info);
	unsigned vis = ELF64_ST_VISIBILITY(s->st_other);

	return s->st_shndx != SHN_UNDEF &&
	       (bind == STB_GLOBAL || bind == STB_WEAK ||
	        bind == STB_GNU_UNIQUE) &&
	       (vis == STV_DEFAULT || vis == STV_PROTECTED);
}

/* path exports exactly the n names of want, each once. */
static void check_exports(const char *path, const char *const *want,
                          size_t n_want)
{
	const ElfW(Ehdr) * eh;
	const ElfW(Shdr) * sh, *dynsym = NULL, *strtab;
	const ElfW(Sym) * sym;
	struct image im;
	struct stat st;
	int fd, found[N_EXPECTED] = {0};
	size_t i, j, n, n_exported = 0;

	assert_true(n_want <= N_EXPECTED);
	const char *name;
	void *map;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(map != MAP_FAILED);
	im.p = map;
	im.size = (size_t)st.st_size;

	eh = at(&im, 0, sizeof(*eh));
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	/* ElfW is the native width; the module is built for this host. */
	assert_int_equal(eh->e_ident[EI_CLASS],
	                 sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32);
	assert_int_equal(eh->e_shentsize, sizeof(ElfW(Shdr)));
	sh = at(&im, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(*sh));
	for (i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_DYNSYM)
			dynsym = &sh[i];
	if (dynsym == NULL) {
		fail_msg("%s has no .dynsym", path);
		return;
	}
	assert_int_equal(dynsym->sh_entsize, sizeof(ElfW(Sym)));
	assert_true(dynsym->sh_link < eh->e_shnum);
	strtab = &sh[dynsym->sh_link];
	sym = at(&im, dynsym->sh_offset, dynsym->sh_size);
	(void)at(&im, strtab->sh_offset, strtab->sh_size);
	n = dynsym->sh_size / sizeof(ElfW(Sym));

	for (i = 0; i < n; i++) {
		if (!is_exported(&sym[i]))
			continue;
		assert_true(sym[i].st_name < strtab->sh_size);
		name = (const char *)im.p + strtab->sh_offset + sym[i].st_name;
		assert_non_null(
		    memchr(name, '\0', strtab->sh_size - sym[i].st_name));
		n_exported++;
		for (j = 0; j < n_want; j++)
			if (strcmp(name, want[j]) == 0)
				break;
		if (j == n_want)
			fail_msg("%s: unexpected exported symbol: %s", path,
			         name);
		assert_false(found[j]);
		found[j] = 1;
	}
	assert_int_equal(n_exported, n_want);
	munmap(map, im.size);
	close(fd);
}

static void test_dynsym_exact(void **state)
{
	check_exports(PAM_MODULE_PATH, expected, N_EXPECTED);
}

static void test_dynsym_exact_push(void **state)
{
	check_exports(PUSH_OBJECT_PATH, push_expected,
	              sizeof(push_expected) / sizeof(push_expected[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dlopen),
	    cmocka_unit_test(test_dynsym_exact),
	    cmocka_unit_test(test_dlopen_push),
	    cmocka_unit_test(test_dynsym_exact_push),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
