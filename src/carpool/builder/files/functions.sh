#!/dgr/bin/busybox sh
# dgr's in-image helper functions (/dgr/bin/functions.sh), as carpool ships them.
# Scripts source it: `. /dgr/bin/functions.sh; isLevelEnabled "debug" && set -x`.

export TERM=${TERM:-xterm}

echo_red() { printf '\033[0;31m%s\033[0m\n' "$*"; }
echo_green() { printf '\033[0;32m%s\033[0m\n' "$*"; }
echo_yellow() { printf '\033[0;33m%s\033[0m\n' "$*"; }
echo_blue() { printf '\033[0;34m%s\033[0m\n' "$*"; }
echo_purple() { printf '\033[0;35m%s\033[0m\n' "$*"; }
echo_cyan() { printf '\033[0;36m%s\033[0m\n' "$*"; }

# trace=5 debug=4 info=3 warn=2 error=1 fatal=0 panic=-1 (go-erlog's order)
levelFromString() {
    case $(echo "$1" | tr '[:upper:]' '[:lower:]') in
        trace) echo 5 ;;
        debug) echo 4 ;;
        info) echo 3 ;;
        warn|warning) echo 2 ;;
        error) echo 1 ;;
        fatal) echo 0 ;;
        panic) echo -1 ;;
        *) echo 3 ;;
    esac
}

# isLevelEnabled LEVEL: true when $LOG_LEVEL (default info) is at least that verbose
isLevelEnabled() {
    l=$(levelFromString "$1")
    current=$(levelFromString "${LOG_LEVEL:-info}")
    [ "$current" -ge "$l" ]
}

# execute_files DIR: every regular file of DIR in lexical order, stopping at the first failure
execute_files() {
    fdir=$1
    [ -d "$fdir" ] || return 0
    for file in "$fdir"/*; do
        [ -f "$file" ] || continue
        [ -x "$file" ] || chmod +x "$file"
        isLevelEnabled "debug" && echo_green "Running script -> $file"
        # carpool's build driver splits the output per script on this line
        [ -n "${CARPOOL_STEP_MARK:-}" ] && echo "::carpool-step:: $file"
        "$file"
        code=$?
        if [ $code != 0 ]; then
            echo_red "script $file failed with exit code $code"
            exit $code
        fi
    done
}
