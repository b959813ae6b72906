#!/usr/bin/env bash
# The manual pages cannot drift from the programs: every long option a program's --help prints
# (each subcommand's on its own) is documented under that command in its page, every option a
# page documents is one the program takes, every subcommand has its section and every section a
# subcommand; vnic.json(5) documents exactly the keys of vnicd's key table (daemon/config.cpp),
# which are docs/CONFIG.md's; and groff reads every page without a warning.
set -euo pipefail
: "${VNIC_BUILD:?}"
src=$(cd "$(dirname "$0")/../.." && pwd)
pages=$src/packaging/man
vnicd=$VNIC_BUILD/daemon/vnicd
vnicctl=$VNIC_BUILD/tools/vnicctl/vnicctl
vnic_bench=$VNIC_BUILD/tools/vnic-bench/vnic-bench
vnic_lab=$src/tools/vnic-lab/vnic-lab
for tool in "$vnicd" "$vnicctl" "$vnic_bench"; do
  [ -x "$tool" ] || { echo "VNIC-SKIP: $tool is not built"; exit 77; }
done
command -v man >/dev/null || { echo "VNIC-SKIP: man is missing (man-db)"; exit 77; }

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# man_tags PAGE SECTION: the long options (or with KEYS, the words) that the tags of .TP items
# document: SECTION "" is .SH OPTIONS, KEYS is .SH KEYS, and a command name is the .SS under
# .SH COMMANDS whose title starts with that name.
man_tags() {
  awk -v want="$2" '
    /^\.SH/ { sh = $2; ss = ""; next }
    /^\.SS/ { t = $0; sub(/^\.SS[ \t]+"?/, "", t); split(t, w, /[ "\\]/); ss = w[1]; next }
    /^\.TP/ { tag = 1; next }
    tag {
      tag = 0
      where = sh == "OPTIONS" ? "" : sh == "COMMANDS" ? ss : sh == "KEYS" ? "KEYS" : "-"
      if (where != want) next
      line = $0
      if (want == "KEYS") { sub(/^\.B[ \t]+/, "", line); print line; next }
      gsub(/\\-/, "-", line)
      while (match(line, /--[a-z0-9][a-z0-9-]*/)) {
        print substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
      }
    }' "$1" | sort -u
}

# man_commands PAGE: the first word of every .SS title under .SH COMMANDS.
man_commands() {
  awk '/^\.SH/ { sh = $2; next }
       sh == "COMMANDS" && /^\.SS/ { t = $0; sub(/^\.SS[ \t]+"?/, "", t); split(t, w, /[ "\\]/); print w[1] }' "$1" | sort -u
}

# help_options COMMAND...: the long options in the Options: section of CLI11's --help (the
# option column only, not options named in a description).
help_options() {
  "$@" --help | awk '/^Options:/ { o = 1; next } /^[^ ]/ { o = 0 }
    o && /^  +-/ { n = split($1, a, ","); for (i = 1; i <= n; i++) if (a[i] ~ /^--/) print a[i] }' | sort -u
}

# help_subcommands COMMAND: the names under CLI11's Subcommands: heading.
help_subcommands() {
  "$1" --help | awk '/^Subcommands:/ { s = 1; next } /^[^ ]/ { s = 0 } s && /^  +[a-z]/ { print $1 }' | sort -u
}

# same WHAT EXPECTED ACTUAL: one FAIL line for each item on one side only.
same() {
  local what=$1 line
  while IFS= read -r line; do
    case $line in
      "<"*) fail "$what: ${line#< } is in --help (or the code) but not documented" ;;
      ">"*) fail "$what: ${line#> } is documented but not in --help (or the code)" ;;
    esac
  done < <(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | grep '^[<>]' || true)
}

# A program with subcommands: top-level options, each subcommand's (its -h/--help aside: every
# CLI11 subcommand has it, the page says it once under OPTIONS), and the list of subcommands.
check_subcommand_program() {
  local program=$1 page=$2 sub name
  name=$(basename "$2")
  same "$name OPTIONS" "$(help_options "$program")" "$(man_tags "$page" "")"
  same "$name COMMANDS" "$(help_subcommands "$program")" "$(man_commands "$page")"
  for sub in $(help_subcommands "$program"); do
    same "$name $sub" "$(help_options "$program" "$sub" | grep -vx -- --help || true)" \
      "$(man_tags "$page" "$sub" | grep -vx -- --help || true)"
  done
}

same "vnicd.8 OPTIONS" "$(help_options "$vnicd")" "$(man_tags "$pages/vnicd.8" "")"
check_subcommand_program "$vnicctl" "$pages/vnicctl.8"
check_subcommand_program "$vnic_bench" "$pages/vnic-bench.1"

# vnic-lab is bash: its usage (printed with no arguments) is its --help. Every option there is
# one of `up`'s; every command (the first word of each |-separated alternative) has a section.
lab_usage=$("$vnic_lab" 2>&1) || true
[ -n "$lab_usage" ] || fail "vnic-lab printed no usage"
same "vnic-lab.8 up" "$(grep -oE -- '--[a-z][a-z0-9-]+' <<<"$lab_usage" | sort -u)" \
  "$(man_tags "$pages/vnic-lab.8" up)"
lab_commands=$(sed -E 's/^ *(usage:)? *vnic-lab +//' <<<"$lab_usage" | awk -F' [|] ' '{ for (i = 1; i <= NF; i++) { split($i, w, " "); print w[1] } }' | sort -u)
lab_sections=$(awk '/^\.SH/ { sh = $2; next } sh == "COMMANDS" && /^\.SS/ { t = $0; sub(/^\.SS[ \t]+/, "", t); gsub(/["|]|\\f[A-Z]/, " ", t); print t }' "$pages/vnic-lab.8" | tr ' ' '\n' | grep . | sort -u)
for command in $lab_commands; do
  grep -qx -- "$command" <<<"$lab_sections" || fail "vnic-lab.8: command '$command' (in the usage) has no section"
done

# vnic.json(5) against the parser's key table, and the table against docs/CONFIG.md.
code_keys=$(grep -oE '^[[:space:]]*\{"[a-z_]+",[[:space:]]*(\[\]|$)' "$src/daemon/config.cpp" | grep -oE '[a-z_]+' | sort -u)
[ "$(wc -l <<<"$code_keys")" -ge 30 ] || fail "found only $(wc -l <<<"$code_keys") keys in daemon/config.cpp: has its key table changed shape?"
same "vnic.json.5 KEYS" "$code_keys" "$(man_tags "$pages/vnic.json.5" KEYS)"
same "docs/CONFIG.md keys" "$code_keys" "$(grep -oE '^\| `[a-z_]+` \|' "$src/docs/CONFIG.md" | grep -oE '[a-z_]+' | sort -u)"

# Every page reads without a groff or man warning (what lintian's manpage checks run too).
for page in "$pages"/*.[0-9]; do
  warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null || true)
  [ -z "$warnings" ] || fail "$(basename "$page"): $warnings"
done

if [ "$failures" -gt 0 ]; then
  echo "FAIL: $failures disagreement(s) between the manual pages and the programs" >&2
  exit 1
fi
echo "PASS: 5 pages agree with vnicd, vnicctl, vnic-bench and vnic-lab's options and the $(wc -l <<<"$code_keys") config keys"
