# Writes a man page from an app's own --help, so the two can never disagree:
#   cmake -DAPP=path/to/mam-sign -DNAME=mam-sign -DVERSION=0.1.0 -DSUMMARY="one short phrase"
#         [-DSUBCOMMANDS="check;show"] -DOUT=mam-sign.1 -P ManPage.cmake
# The page has the sections Debian's pages have: NAME (one phrase), SYNOPSIS (each Usage: line of the
# help), DESCRIPTION (the help itself), FILES, SEE ALSO. tests/package/deb.sh runs groff over it.
execute_process(COMMAND ${APP} --help OUTPUT_VARIABLE help RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "${APP} --help failed")
endif()
foreach(sub IN LISTS SUBCOMMANDS)
  execute_process(COMMAND ${APP} ${sub} --help OUTPUT_VARIABLE sub_help)
  string(APPEND help "\n${NAME} ${sub}\n\n${sub_help}")
endforeach()
if(NOT SUMMARY)
  message(FATAL_ERROR "SUMMARY (the NAME line's phrase) is required")
endif()
# roff: a backslash is written \\e; a line starting with . or ' would be a request, so it is protected.
function(roff_escape text out)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "\n([.'])" "\n\\\\&\\1" text "${text}")
  string(REGEX REPLACE "^([.'])" "\\\\&\\1" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()
# SYNOPSIS: every "Usage: ..." line of the help (one per subcommand).
string(REGEX MATCHALL "Usage: [^\n]*" usages "${help}")
set(synopsis "")
foreach(usage IN LISTS usages)
  string(REGEX REPLACE "^Usage: " "" usage "${usage}")
  roff_escape("${usage}" usage)
  string(APPEND synopsis ".br\n${usage}\n")
endforeach()
roff_escape("${help}" body)
roff_escape("${SUMMARY}" summary)
string(TOUPPER "${NAME}" upper)
file(WRITE ${OUT} ".TH ${upper} 1 \"\" \"mamsign ${VERSION}\" \"User Commands\"
.SH NAME
${NAME} \\- ${summary}
.SH SYNOPSIS
.nf
${synopsis}.fi
.SH DESCRIPTION
.nf
${body}
.fi
.SH FILES
/etc/mamsign/profile.json, /etc/mamsign/trust/, /etc/mamsign/crl/ (or the folder MAMSIGN_CONFIG_DIR names):
the host's profile, trust anchors and CRLs, used when no flag names them.
.SH ENVIRONMENT
MAMSIGN_CONFIG_DIR, MAMSIGN_PROFILE: see FILES and \\-\\-profile.
.SH SEE ALSO
mam\\-sign(1), mam\\-verify(1), mam\\-certid(1), mam\\-csr(1); /usr/share/doc/mamsign/ for the signing profile, every
reason code and every file format.
")
