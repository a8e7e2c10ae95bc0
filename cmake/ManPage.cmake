# Writes a man page from an app's own --help, so the two can never disagree:
#   cmake -DAPP=path/to/mam-sign -DNAME=mam-sign -DVERSION=0.1.0 [-DSUBCOMMANDS="check;show"] -DOUT=mam-sign.1 -P ManPage.cmake
execute_process(COMMAND ${APP} --help OUTPUT_VARIABLE help RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "${APP} --help failed")
endif()
foreach(sub IN LISTS SUBCOMMANDS)
  execute_process(COMMAND ${APP} ${sub} --help OUTPUT_VARIABLE sub_help)
  string(APPEND help "\n${NAME} ${sub}\n\n${sub_help}")
endforeach()
# The first sentence of the help is the page's one-line summary.
string(REGEX MATCH "^[^:]*: ([^\n]*)" _ "${help}")
set(summary "${CMAKE_MATCH_1}")
# roff: backslashes doubled; a line starting with . or ' would be a request, so it is protected.
string(REPLACE "\\" "\\\\" body "${help}")
string(REGEX REPLACE "\n([.'])" "\n\\\\&\\1" body "${body}")
string(REGEX REPLACE "^([.'])" "\\\\&\\1" body "${body}")
string(TOUPPER "${NAME}" upper)
file(WRITE ${OUT} ".TH ${upper} 1 \"\" \"mamsign ${VERSION}\" \"User Commands\"
.SH NAME
${NAME} \\- ${summary}
.SH DESCRIPTION
.nf
${body}
.fi
.SH FILES
/etc/mamsign/profile.json, /etc/mamsign/trust/, /etc/mamsign/crl/ (or \\$MAMSIGN_CONFIG_DIR): the host's profile,
trust anchors and CRLs, used when no flag names them.
.SH SEE ALSO
mam-sign(1), mam-verify(1), mam-certid(1), mam-csr(1); /usr/share/doc/mamsign/ for the signing profile, every reason code and
every file format.
")
