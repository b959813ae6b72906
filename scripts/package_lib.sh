# Sourced by scripts/package-deb.sh and scripts/package-rpm.sh.

package_die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# package_require TOOL...: each on PATH, or one line naming the first missing.
package_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || package_die "$tool is missing (scripts/install-deps.sh installs it)"
  done
}

# package_copy_tree SRC DEST OUTDIR: the tree as it is now (the files git tracks, edits included,
# and the ones it does not ignore) into DEST, without build directories or anything else
# .gitignore names, nor OUTDIR's contents when OUTDIR is inside the tree (out/ from an earlier run).
# The list is complete before the copy starts, so DEST (inside OUTDIR) never copies itself.
package_copy_tree() {
  local src=$1 dest=$2 outdir=$3 list skip=
  case "$outdir/" in "$src/"*) skip=${outdir#"$src/"}/ ;; esac
  list=$(mktemp)
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
      [ -e "$f" ] || continue
      if [ -n "$skip" ]; then case "$f" in "$skip"*) continue ;; esac; fi
      printf '%s\0' "$f"
    done) >"$list"
  mkdir -p "$dest"
  (cd "$src" && tar --null -T "$list" -cf -) | tar -xf - -C "$dest"
  rm -f "$list"
}
