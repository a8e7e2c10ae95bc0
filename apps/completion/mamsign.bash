# bash completion for mam-sign, mam-verify, mam-certid and mam-csr. The flags come from each tool's own --help,
# so completion never falls behind the tool.
_mamsign_complete() {
  local cur prev tool words_help sub
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  tool="${COMP_WORDS[0]}"
  case "${tool##*/}" in
    mam-certid|mam-csr)
      if [ "$COMP_CWORD" -eq 1 ]; then
        local commands="check show"
        [ "${tool##*/}" != mam-csr ] || commands="new check accept show"
        mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
        return
      fi
      sub="${COMP_WORDS[1]}" ;;
  esac
  case "$prev" in
    --format) mapfile -t COMPREPLY < <(compgen -W "cms raw" -- "$cur"); return ;;
    --usage) mapfile -t COMPREPLY < <(compgen -W "ds ka" -- "$cur"); return ;;
    --role) mapfile -t COMPREPLY < <(compgen -W "supplier network-operator 02 03" -- "$cur"); return ;;
    --pass-env|--pin-env) mapfile -t COMPREPLY < <(compgen -e -- "$cur"); return ;;
    --jobs|-j|--at|--crl-grace) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    words_help=$("$tool" ${sub:+"$sub"} --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    mapfile -t COMPREPLY < <(compgen -W "$words_help" -- "$cur")
    return
  fi
  mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -o filenames -F _mamsign_complete mam-sign mam-verify mam-certid mam-csr
