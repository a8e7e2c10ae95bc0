#!/usr/bin/env bash
# Builds the Debian packages (cpack -G DEB), unpacks them into a scratch root with dpkg -x, and checks
# what a user gets: the three tools (not mam-testpki), a man page for each naming every flag its --help
# names, bash completion, the docs; then runs each installed tool's --version and a real sign and verify
# with the example keys.
set -euo pipefail
build=$1 source=$2
work=$(mktemp -d /tmp/mamsign-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >/dev/null)
tools=$(ls "$work"/out/mamsign_*.deb)
dev=$(ls "$work"/out/mamsign-dev_*.deb)
root="$work/root"
dpkg -x "$tools" "$root"
dpkg -x "$dev" "$root"
fail() { echo "package: $*" >&2; exit 1; }

# To Debian's own standard, since a DCC host installs it beside Debian's packages: lintian reports no
# error and no warning (install-deps.sh installs lintian; its note about running as root is not about us).
# lintian and the symbols package judge what ships: a release build. A sanitizer build's binaries are
# five times the size and never shipped (lintian took 100 s over them), so there both are skipped.
sanitized=0
if grep -q -- '-fsanitize' "$build/CMakeCache.txt" 2>/dev/null; then sanitized=1; fi
if [ "$sanitized" = 1 ]; then
  echo "a sanitizer build: lintian and the -dbgsym check are for release builds, skipped"
elif command -v lintian >/dev/null 2>&1; then
  findings=$(lintian "$tools" "$dev" 2>&1 | grep -v 'running with root privileges' || true)
  [ -z "$findings" ] || fail "lintian: $findings"
  echo "lintian: no error, no warning on $(basename "$tools") $(basename "$dev")"
else
  echo "lintian is not installed: its check is skipped (scripts/install-deps.sh installs it)"
fi
[ "$sanitized" = 1 ] || ls "$work"/out/mamsign-dbgsym_*.ddeb >/dev/null 2>&1 ||
  fail "no mamsign-dbgsym package beside the stripped binaries"
unit="$root/usr/lib/systemd/system/mamsign-intake.service"
[ -f "$unit" ] || fail "the intake's systemd unit is not installed"
[ -f "$root/usr/lib/sysusers.d/mamsign.conf" ] || fail "the intake's user is not declared (sysusers.d)"
for want in NoNewPrivileges=yes ProtectSystem=strict User=mamsign ReadWritePaths= EnvironmentFile=/etc/mamsign/; do
  grep -q "^$want" "$unit" || fail "the unit lacks $want"
done
if command -v systemd-analyze >/dev/null 2>&1; then
  # Verified as installed, its binary where this scratch root has it.
  sed "s|/usr/bin/mam-verify|$root/usr/bin/mam-verify|" "$unit" >"$work/mamsign-intake.service"
  systemd-analyze verify --man=no "$work/mamsign-intake.service" || fail "systemd-analyze verify refuses the unit"
  echo "systemd-analyze verify: the unit passes"
fi
dpkg-deb -f "$tools" Depends | grep -q libssl3 || fail "mamsign does not depend on libssl3"
dpkg-deb -f "$tools" Recommends | grep -qw bash-completion || fail "mamsign does not recommend bash-completion"
[ ! -e "$root/usr/bin/mam-testpki" ] || fail "mam-testpki must not be installed"
[ -f "$root/usr/include/mamsign/signer.h" ] || fail "mamsign-dev lacks the headers"
[ -f "$root/usr/lib/x86_64-linux-gnu/cmake/mamsign/mamsignConfig.cmake" ] || [ -f "$root/usr/lib/cmake/mamsign/mamsignConfig.cmake" ] ||
  ls "$root"/usr/lib*/*/cmake/mamsign/mamsignConfig.cmake >/dev/null 2>&1 || fail "mamsign-dev lacks the CMake package"
[ -f "$root/usr/share/doc/mamsign/reason-codes.md" ] || fail "the docs are not installed"
for app in mam-sign mam-verify mam-certid mam-csr; do
  bin="$root/usr/bin/$app"
  [ -x "$bin" ] || fail "$app is not installed"
  [ -f "$root/usr/share/bash-completion/completions/$app" ] || fail "no bash completion for $app"
  man=$(ls "$root"/usr/share/man/man1/"$app".1* 2>/dev/null | head -1)
  [ -n "$man" ] || fail "no man page for $app"
  page=$(if [[ "$man" == *.gz ]]; then gzip -dc "$man"; else cat "$man"; fi)
  # As Debian writes them: groff reads the page without a warning, NAME is one phrase on its own
  # line, a SYNOPSIS follows it, and the environment variables print whole (no \$ read as a macro).
  warnings=$(printf '%s\n' "$page" | LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "groff warns about the man page of $app: $warnings"
  rendered=$(printf '%s\n' "$page" | LC_ALL=C.UTF-8 groff -man -Tutf8 -P-cbou -rLL=200n 2>/dev/null)
  name_line=$(grep -A1 '^NAME' <<<"$rendered" | tail -1)
  [[ "$name_line" =~ ^\ +$app\ -\ [a-z].*[a-z]$ && ${#name_line} -lt 100 ]] || fail "NAME of $app is not one short phrase: $name_line"
  grep -q '^SYNOPSIS' <<<"$rendered" || fail "the man page of $app has no SYNOPSIS"
  grep -q 'MAMSIGN_CONFIG_DIR' <<<"$rendered" || fail "the man page of $app does not print MAMSIGN_CONFIG_DIR whole"
  helps=$("$bin" --help)
  [ "$app" != mam-certid ] || helps+=$("$bin" check --help; "$bin" show --help)
  [ "$app" != mam-csr ] || helps+=$("$bin" new --help; "$bin" check --help; "$bin" accept --help; "$bin" show --help)
  for flag in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$helps" | sort -u); do
    grep -qF -- "$flag" <<<"$page" || fail "the man page of $app does not name $flag"
  done
  # libcurl is loaded when a TSA is asked, never linked: linked, it doubled every start (29 more libraries).
  ! readelf -d "$bin" | grep -q 'NEEDED.*libcurl' || fail "$app links libcurl; it must load it only for --tsa"
  version=$("$bin" --version)
  [[ "$version" == "$app "*"(commit "*", OpenSSL 3"* ]] || fail "unexpected --version: $version"
  echo "$version"
done

# A real run of the installed tools.
cp "$source/testdata/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv" "$work/"
"$root/usr/bin/mam-sign" --quiet --key "$source/keys-example/keys/supplier-ds.key" \
  --cert "$source/keys-example/store/supplier-ds.pem" "$work"/MA_*.csv 2>/dev/null || fail "the installed mam-sign failed"
"$root/usr/bin/mam-verify" --trust "$source/keys-example/trust" --crl "$source/keys-example/crl" "$work"/MA_*.csv |
  grep -q ': OK \[signer' || fail "the installed mam-verify did not verify"
echo "the packages install and run: $(basename "$tools") $(basename "$dev")"
