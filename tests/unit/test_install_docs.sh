#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The install instructions work as written:
# - contrib/install-deps.sh (run against stand-ins for apt-get, dpkg-query
#   and debconf) preseeds slapd only when it installs slapd and nobody
#   answered before, and takes the answer back afterwards;
# - README's Install section names every build dependency install-deps.sh
#   installs, and configures a system install (--prefix=/usr, /etc, /var);
# - token labels in the examples are ones enroll makes (token1, ...) or
#   that the same page gave with --label;
# - what README says about the systemd-user PAM service holds here.
set -u
: "${top_srcdir:?}"
failed=0
fail() {
	echo "FAIL: $*" >&2
	failed=$((failed + 1))
}
T=$(mktemp -d "${TMPDIR:-/tmp}/pg-install-docs.XXXXXX")
trap 'rm -rf "$T"' EXIT

# --- install-deps.sh with stand-ins ----------------------------------------
# INSTALLED: packages dpkg-query reports; ANSWER: what debconf-communicate
# says to GET; every call is appended to $T/calls.
mkdir "$T/bin"
cat >"$T/bin/dpkg-query" <<'EOF'
#!/bin/sh
for a; do pkg=$a; done
case " $INSTALLED " in *" $pkg "*) echo "install ok installed" ;; esac
EOF
cat >"$T/bin/id" <<'EOF'
#!/bin/sh
echo 0
EOF
cat >"$T/bin/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >>"$CALLS"
EOF
cat >"$T/bin/debconf-set-selections" <<'EOF'
#!/bin/sh
echo "set-selections $(cat)" >>"$CALLS"
EOF
cat >"$T/bin/debconf-communicate" <<'EOF'
#!/bin/sh
line=$(cat)
echo "communicate $* $line" >>"$CALLS"
case "$line" in GET*) echo "$ANSWER" ;; *) echo "0" ;; esac
EOF
chmod +x "$T/bin/"*
BUILD=$(sed -n '/^BUILD="/,/"$/p' "$top_srcdir/contrib/install-deps.sh" |
	sed 's/^BUILD="//; s/"$//' | tr -s ' \t\n' ' ')
TEST=$(sed -n '/^TEST="/,/"$/p' "$top_srcdir/contrib/install-deps.sh" |
	sed 's/^TEST="//; s/"$//' | tr -s ' \t\n' ' ')
[ -n "$BUILD" ] && [ -n "$TEST" ] || fail "no BUILD or TEST list in install-deps.sh"

# deps INSTALLED ANSWER: run the script; its calls in $T/calls.
deps() {
	: >"$T/calls"
	env PATH="$T/bin:$PATH" CALLS="$T/calls" INSTALLED="$1" ANSWER="$2" \
		sh "$top_srcdir/contrib/install-deps.sh" >"$T/out" 2>&1 ||
		fail "install-deps.sh failed: $(cat "$T/out")"
}
all="$BUILD $TEST"
no_slapd=$(echo " $all " | sed 's/ slapd / /')
no_nothing=$(echo " $all " | sed 's/ valgrind / /')

deps "$no_slapd" "10 slapd/no_configuration doesn't exist"
sed -n '1p' "$T/calls" | grep -q '^communicate slapd GET slapd/no_configuration$' ||
	fail "slapd missing: the earlier answer was not asked for: $(cat "$T/calls")"
sed -n '2p' "$T/calls" | grep -q '^set-selections slapd slapd/no_configuration boolean true$' ||
	fail "slapd missing: not preseeded before apt-get: $(cat "$T/calls")"
grep -q '^apt-get install .* slapd' "$T/calls" || fail "slapd missing: not installed"
tail -n 1 "$T/calls" | grep -q '^communicate slapd RESET slapd/no_configuration$' ||
	fail "slapd missing: the preseed is left behind: $(cat "$T/calls")"

deps "$no_nothing" ""
! grep -q 'selections\|communicate' "$T/calls" ||
	fail "slapd installed already: debconf touched: $(cat "$T/calls")"
grep -q '^apt-get install .*valgrind' "$T/calls" || fail "valgrind missing: not installed"

deps "$no_slapd" "0 false"
! grep -q 'set-selections\|RESET' "$T/calls" ||
	fail "the site's own answer was overwritten: $(cat "$T/calls")"

deps "$all" ""
[ ! -s "$T/calls" ] || fail "all installed: still called $(cat "$T/calls")"

# --- README: Install ---------------------------------------------------------
README="$top_srcdir/README.md"
sed -n '/^## Install$/,/^## /p' "$README" >"$T/install"
for pkg in $BUILD; do
	grep -q -- "$pkg" "$T/install" || fail "README Install does not name the build dependency $pkg"
done
grep -Eq '^\./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var' "$T/install" ||
	fail "README Install: no system configure line (--prefix=/usr --sysconfdir=/etc --localstatedir=/var)"

# --- token labels in examples -----------------------------------------------
# A label in "phiguardctl remove USER LABEL" or on a token-store example
# line is token1, token2, ... (what enroll and the importers make) or one
# the same file gave with --label.
for f in "$README" "$top_srcdir"/man/*.[58]; do
	given=$(sed 's/\\-/-/g' "$f" | grep -o -- '--label [A-Za-z0-9._@+-]*' | cut -d' ' -f2)
	{
		sed 's/\\-/-/g' "$f" | grep -o 'phiguardctl remove [^ ]* [A-Za-z0-9._@+-]*' | cut -d' ' -f4
		sed 's/\\-/-/g' "$f" | grep -oE '^[ .A-Z"]*[a-z0-9]+ SHA(1|256|512) [0-9] [0-9]+ [A-Z2-7]+ [A-Za-z0-9._@+-]+' |
			awk '{ print $NF }'
	} | while read -r label; do
		case "$label" in
		token[1-9]*) continue ;;
		esac
		echo "$given" | grep -qx -- "$label" ||
			echo "$f: example label '$label' is neither tokenN nor given with --label"
	done
done >"$T/labels"
[ ! -s "$T/labels" ] || fail "$(cat "$T/labels")"

# --- README on the systemd-user PAM service ----------------------------------
grep -q 'systemd-user' "$README" || fail "README does not explain the systemd-user AUTHZ"
for d in /etc/pam.d /usr/lib/pam.d; do
	[ -f "$d/systemd-user" ] || continue
	grep -q '^@include common-account' "$d/systemd-user" ||
		fail "$d/systemd-user does not include common-account, as README says"
	break
done

[ "$failed" -eq 0 ] || exit 1
echo "install docs: ok"
