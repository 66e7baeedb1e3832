/* SPDX-License-Identifier: BSD-3-Clause */
/* Distinguished names compared as DNs, not as text: one key per DN, so a
 * policy's group and the directory's spelling of it meet. */
#ifndef PHIGUARD_DAEMON_DN_H
#define PHIGUARD_DAEMON_DN_H

/*
 * The comparison key of an LDAPv3 DN (RFC 4514), parsed by libldap: the
 * same for every spelling of one DN. "cn=Billing\, Claims" and
 * "CN=billing\2C  claims" give one key. The rules:
 *   - attribute types compare case-insensitively;
 *   - values compare after unescaping (\, \2C and "," are one byte),
 *     with ASCII letters folded to lower case and runs of spaces
 *     counted as one, leading and trailing ones dropped (as the
 *     caseIgnoreMatch of cn, ou, dc, o and uid does);
 *   - the values of a multi-valued RDN compare in any order;
 *   - non-ASCII bytes compare exactly (no Unicode case folding), and
 *     #hex (BER) values compare as written.
 * Returns 0 and a malloc'd key in *out, PG_ERR_INVAL if dn is not a DN
 * (or empty), PG_ERR_NOMEM.
 */
int dn_key(const char *dn, char **out);

#endif
