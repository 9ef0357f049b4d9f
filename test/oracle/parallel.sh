#!/usr/bin/env bash
# Runs the same command lines through GNU parallel and the built jobrun over hostile
# inputs (names with newlines, quotes, $(…), backticks, leading dashes, bytes that are
# not UTF-8, dotfiles, `.`, `..`, trailing and doubled slashes) and compares their
# output byte for byte. Not part of `npm test` (CI machines have no parallel):
#   npm run build && npm run oracle
# Prints one line per case and exits 1 when any case differs.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
JOBRUN="node $ROOT/bin/jobrun.js"
command -v parallel >/dev/null || { echo "oracle: GNU parallel is not installed" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2
mkdir -p files/sub.d files/.hidden && cd files || exit 2
names=(
  'plain.txt' 'two words.txt' "it's.txt" '"dq".txt' 'x;touch PWNED' '$(touch PWNED)'
  '`touch PWNED`' '-rf' '--help' 'star*.txt' 'back\slash' $'tab\there' $'new\nline.txt'
  $'caf\xe9.txt' $'\xff\xfe.bin' 'ünï.cödé' '.bashrc' 'a.b.c' 'noext' 'sub.d/x.tar.gz'
  'sub.d/.profile' ' lead' 'trail ' '%s%d' '{}' '{1}' '~home' '#hash' '!bang' '&amp'
  '|pipe' '<in>' $'cr\r' 'end.'
)
for n in "${names[@]}"; do printf '%s\n' "$n" > "$n"; done
cd .. || exit 2
# Edge cases of the path placeholders, as plain values.
edges=('.bashrc' 'dir/.bashrc' '.' '..' 'a/b/' 'x.y/' 'a//b//c.txt' '/' '/x' 'a.b.c' 'dir.d/file' '' 'x')

fail=0
# compare NAME INPUT STDIN FLAGS COMMAND…: `parallel -k FLAGS COMMAND…` against
# `jobrun run -k [--stdin] FLAGS -- COMMAND…`, both reading INPUT. FLAGS is one string,
# split on spaces. Several COMMAND words are exec'd by jobrun without a shell, which
# parallel does with -q (without it parallel joins the words into a shell line).
compare() {
  local name=$1 input=$2 stdin=$3 flags=$4
  shift 4
  local f=()
  read -ra f <<< "$flags"
  local q=() words=0 w
  for w in "$@"; do [[ $w == ::: || $w == :::: ]] && break; words=$((words + 1)); done
  [ $words -gt 1 ] && q=(-q)
  parallel -k "${q[@]}" "${f[@]}" "$@" < "$input" > "$WORK/p.out" 2>/dev/null
  $JOBRUN run --progress none -k $stdin "${f[@]}" -- "$@" < "$input" > "$WORK/j.out" 2>/dev/null
  if cmp -s "$WORK/p.out" "$WORK/j.out"; then
    printf 'same   %-52s %6s bytes\n' "$name" "$(wc -c < "$WORK/p.out")"
  else
    printf 'DIFFER %s\n' "$name"
    diff <(od -c "$WORK/p.out") <(od -c "$WORK/j.out") | head -10
    fail=1
  fi
  if [ -e PWNED ]; then echo "a name ran as a command"; fail=1; rm -f PWNED; fi
}
S() { local n=$1 i=$2 f=$3; shift 3; compare "$n" "$i" --stdin "$f" "$@"; }
A() { local n=$1 f=$2; shift 2; compare "$n" empty '' "$f" "$@"; }

find files -type f -print0 | sort -z > names0
find files -type f ! -name $'*\n*' | sort > names
printf '%s\0' "${edges[@]}" > edges0
printf 'a\n\nb\r\nc' > blank
printf 'a,1,x\nb,2,y\n' > cols
printf 'host\tport\nh1\t80\nh2\t443\n' > header
: > empty

PH="printf '[%s]\n' {} {.} {/} {//} {/.}"
echo "jobrun vs GNU parallel $(parallel --version | head -1 | awk '{print $3}')"
S "-0 names, placeholders (shell line)"       names0 -0 "$PH"
S "-0 names, placeholders (direct exec)"      names0 -0 printf '[%s]\n' {} {.} {/} {//} {/.}
S "lines, no placeholder (appended)"          names  '' printf '[%s]\n'
S "lines, wc -c {}"                           names  '' 'wc -c {}'
S "-0 path edge cases"                        edges0 -0 "$PH"
S "-0 path edge cases, {1} {1.} {1/} {1//} {1/.}" edges0 -0 printf '[%s]\n' {1} {1.} {1/} {1//} {1/.}
S "empty line and trailing \\r kept"           blank  '' printf '[%s]\n'
S "--delimiter ,"                             cols   '-d ,' printf '[%s]\n'
S "--colsep , {3} {1}"                        cols   '--colsep ,' printf '[%s]\n' {3} {1}
S "--header : --colsep tab {port} {host}"     header '--header : --colsep \t' echo {port} {host}
S "-n 3 {}"                                   names  '-n 3' printf '[%s]\n' {}
S "-n 2 {1}-{2}"                              names  '-n 2' printf '[%s]\n' {1}-{2}
S "-n 3, shell line"                          names  '-n 3' "printf '[%s]\n' {}"
A "::: a b ::: x y {1} {2}"                   '' 'echo {1} {2}' ::: a b ::: x y
A "::: no placeholder (appended)"             '' echo ::: a b ::: x y
A "--link ::: a b c ::: x y"                  --link 'echo {1} {2}' ::: a b c ::: x y
A ":::: file ::: values {1} {2/}"             '' printf '[%s]\n' {1} {2/} ::: 1 2 :::: names
# (parallel splits a ::: value at a newline; jobrun keeps it whole, so that name is left out)
A "::: hostile values"                        '' printf '[%s]\n' {} ::: "${names[@]//*$'\n'*/nl}"
A "--header : ::: f a b"                      '--header :' 'echo {f}' ::: f a b
A "{#} sequence"                              '' 'echo {#} {}' ::: a b c
exit $fail
