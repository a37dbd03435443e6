#!/usr/bin/env bash
# Builds the Debian package sabha_<version>_amd64.deb (docs/operations.md, "Install from the Debian package").
#
#   tools/package-deb.sh                     a release build (swift build -c release --static-swift-stdlib), packaged
#   tools/package-deb.sh --binary PATH       package an existing build instead (its *.resources directories beside it)
#   tools/package-deb.sh --out DIR           where the .deb goes (default: dist/ in the repository)
#   tools/package-deb.sh --compression TYPE  xz (default), zstd, gzip or none (the tests use none: speed over size)
#
# The package: /usr/lib/sabha/sabha (stripped) with its resource bundles beside it (Bundle.module looks next to the
# executable) and /usr/bin/sabha linking to it; the Swift runtime libraries beside it too when the binary is
# linked against the toolchain's (a debug build; the release build links them statically), found through
# RUNPATH=$ORIGIN; a sandboxed systemd unit; /etc/sabha/sabha.env and the man page sabha(1), both generated from the
# binary's own help (--experimental-dump-help). The static parts are files in tools/packaging/.
# Needs dpkg-deb; uses strip, patchelf and dpkg-shlibdeps when present (tools/setup.sh installs them).
set -euo pipefail

caller_dir=$PWD
cd "$(dirname "$0")/.."
repo=$PWD
packaging=$repo/tools/packaging

binary=""
out=$repo/dist
compression=xz
while (($#)); do
  case "$1" in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --compression) compression=${2:?--compression needs xz, zstd, gzip or none}; shift 2 ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "package-deb: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$compression" in xz|zstd|gzip|none) ;; *) echo "package-deb: --compression: xz, zstd, gzip or none" >&2; exit 2 ;; esac
[[ $out = /* ]] || out=$caller_dir/$out
command -v dpkg-deb >/dev/null || { echo "package-deb: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 1; }

say() { echo "package-deb: $*"; }
warn() { echo "package-deb: warning: $*" >&2; }
die() { echo "package-deb: $*" >&2; exit 1; }

commit=""
if [[ -z $binary ]]; then
  # The Swift runtime and Foundation linked in: the package needs no toolchain on the server. (Static Foundation
  # links libcurl and libxml2 by name: libcurl4-openssl-dev and libxml2-dev, from tools/setup.sh.)
  commit=$(git rev-parse HEAD 2>/dev/null || true)
  say "swift build -c release --product sabha --static-swift-stdlib (commit ${commit:-unknown})"
  SABHA_BUILD_COMMIT=$commit swift build -c release --product sabha --static-swift-stdlib
  binary="$(SABHA_BUILD_COMMIT=$commit swift build -c release --static-swift-stdlib --show-bin-path)/sabha"
else
  [[ $binary = /* ]] || binary=$caller_dir/$binary
fi
[[ -x $binary ]] || die "no executable at $binary"
bindir=$(dirname "$(readlink -f "$binary")")
[[ -d $bindir/sabha_Signalling.resources ]] || die "$bindir/sabha_Signalling.resources is missing: the web client would be missing from the package"

stage=$(mktemp -d "${TMPDIR:-/tmp}/sabha-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# dpkg-shlibdeps wants a source package layout: debian/control, and the package's tree in debian/<package>.
root=$stage/debian/sabha
libdir=$root/usr/lib/sabha
mkdir -p "$root/DEBIAN" "$libdir" "$root/usr/bin"

# --- The program, its resources, and (for a build linked against the toolchain's) the Swift runtime.
install -m 0755 "$binary" "$libdir/sabha"
for bundle in "$bindir"/*.resources; do
  cp -R "$bundle" "$libdir/"
done
ln -s ../lib/sabha/sabha "$root/usr/bin/sabha"

is_system_lib() {  # a library Debian packages provide, in the standard directories
  [[ $1 =~ ^(/usr)?/lib(64|32|x32)?(/x86_64-linux-gnu)?/[^/]+$ ]]
}
bundled=()
while read -r name arrow path _; do
  [[ $arrow == "=>" ]] || continue
  [[ $path == "not" ]] && die "$binary: library $name not found (ldd)"
  is_system_lib "$path" && continue
  cp -L "$path" "$libdir/$name"
  chmod 0644 "$libdir/$name"
  bundled+=("$name")
done < <(env -u LD_LIBRARY_PATH ldd "$binary")
if ((${#bundled[@]})); then
  say "bundling ${#bundled[@]} libraries from the toolchain in /usr/lib/sabha (the binary links them dynamically)"
fi

if command -v strip >/dev/null; then
  strip --remove-section=.comment --remove-section=.swift_ast "$libdir/sabha"
  for lib in "${bundled[@]}"; do strip --strip-unneeded --remove-section=.comment "$libdir/$lib"; done
else
  warn "strip is missing (binutils): the program goes in unstripped"
fi
# Only $ORIGIN: the libraries beside the program, never a toolchain that happens to be on the server.
runpath=$(readelf -d "$libdir/sabha" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p; s/.*(RPATH).*\[\(.*\)\]/\1/p')
if [[ -n $runpath && $runpath != '$ORIGIN' ]]; then
  if command -v patchelf >/dev/null; then
    patchelf --set-rpath '$ORIGIN' "$libdir/sabha"
  elif ((${#bundled[@]})) && [[ :$runpath: != *':$ORIGIN:'* ]]; then
    die "the binary's RUNPATH ($runpath) lacks \$ORIGIN and patchelf is missing: the bundled libraries would not be found"
  else
    warn "patchelf is missing: the RUNPATH stays $runpath"
  fi
fi
# Every library the installed program loads is Debian's or one of ours.
while read -r name arrow path _; do
  [[ $arrow == "=>" ]] || continue
  if [[ $path == "not" ]] || ! { is_system_lib "$path" || [[ $path == "$libdir/"* ]]; }; then
    die "the packaged program would load $name from ${path} (not a Debian library, not bundled)"
  fi
done < <(env -i PATH=/usr/bin:/bin ldd "$libdir/sabha")

# --- What the program says about itself: version, commit, options (run as installed: a clean environment).
run() { env -i PATH=/usr/bin:/bin "$libdir/sabha" "$@"; }
if version=$(run version --number 2>/dev/null) && [[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; then
  :
else
  version=0.0.0+unknown
  warn "'sabha version --number' gave no version (a build before the version command?): packaging as $version"
fi
if [[ -z $commit ]]; then
  commit=$(run version 2>/dev/null | sed -n 's/.*commit \([0-9a-f]\{7,\}\).*/\1/p' || true)
fi
run --experimental-dump-help > "$stage/dump-help.json" || die "sabha --experimental-dump-help failed"
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

# --- Configuration, unit, man page, documentation.
install -D -m 0640 /dev/null "$root/etc/sabha/sabha.env"
PYTHONDONTWRITEBYTECODE=1 python3 "$packaging/envfile.py" "$stage/dump-help.json" "$version" > "$root/etc/sabha/sabha.env"
install -D -m 0644 "$packaging/sabha.service" "$root/lib/systemd/system/sabha.service"
mkdir -p "$root/usr/share/man/man1"
PYTHONDONTWRITEBYTECODE=1 python3 "$packaging/manpage.py" "$stage/dump-help.json" "$version" "$(date -u -d "@$epoch" +%F)" \
  | gzip -9n > "$root/usr/share/man/man1/sabha.1.gz"
doc=$root/usr/share/doc/sabha
install -D -m 0644 "$packaging/copyright" "$doc/copyright"
for example in low-ports.conf tls.conf; do
  install -D -m 0644 "$packaging/$example" "$doc/examples/$example"
done
sed -e "s/@VERSION@/$version/" -e "s/@COMMIT@/${commit:-unknown}/" -e "s/@DATE@/$(LC_ALL=C date -u -R -d "@$epoch")/" \
  "$packaging/changelog.Debian.in" | gzip -9n > "$doc/changelog.Debian.gz"

# --- Dependencies: from the libraries the program and the bundled ones load. procps: /bin/kill (ExecReload).
depends_of_libraries() {
  if command -v dpkg-shlibdeps >/dev/null; then
    printf 'Source: sabha\nMaintainer: Sabha developers <sabha@localhost>\n\nPackage: sabha\nArchitecture: amd64\n' \
      > "$stage/debian/control"
    (cd "$stage" && dpkg-shlibdeps -O debian/sabha/usr/lib/sabha/sabha \
       "${bundled[@]/#/debian/sabha/usr/lib/sabha/}" 2>"$stage/shlibdeps.log") \
      | sed -n 's/^shlibs:Depends=//p'
  else
    # No dpkg-dev: the packages that hold the system libraries it loads, unversioned.
    warn "dpkg-shlibdeps is missing (dpkg-dev): Depends from the owners of the libraries, without versions"
    env -i PATH=/usr/bin:/bin ldd "$libdir/sabha" | awk '$2 == "=>" {print $3}' | while read -r path; do
      is_system_lib "$path" || continue
      dpkg-query -S "$(readlink -f "$path")" 2>/dev/null || dpkg-query -S "$path" 2>/dev/null || true
    done | cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g'
  fi
}
depends=$(depends_of_libraries)
[[ -n $depends ]] || { cat "$stage/shlibdeps.log" >&2 2>/dev/null || true; die "could not work out the package's dependencies"; }
depends="$depends, procps"

# --- Control files, modes, the archive.
find "$root" -type d -exec chmod 0755 {} +
find "$libdir" -name '*.resources' -exec chmod -R u=rwX,go=rX {} +
installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@DEPENDS@/$depends/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
  "$packaging/control.in" > "$root/DEBIAN/control"
echo /etc/sabha/sabha.env > "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$packaging/$script" "$root/DEBIAN/$script"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
  | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/sabha_${version}_amd64.deb
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Z"$compression" --build "$root" "$deb" >/dev/null
say "built $deb ($(du -h "$deb" | cut -f1); Depends: $depends)"
