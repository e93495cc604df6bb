# cmake -DSLUICE=<binary> -DVERSION=<x.y.z> -DOUTPUT=<sluice.1> -P WriteManPage.cmake
# Writes a man(7) page whose sections are the --help texts of sluice and of each subcommand,
# shown verbatim (.nf), so `man sluice` says exactly what `sluice CMD --help` says.
set(subcommands run validate tail top tap list describe version)

# Runs `sluice ARGS --help` and returns its text as roff: backslashes escaped, and a `\&` before
# a line starting with `.` or `'` (those would be requests).
function(help_as_roff out)
  execute_process(COMMAND ${SLUICE} ${ARGN} --help OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SLUICE} ${ARGN} --help exited ${rc}")
  endif()
  string(REPLACE "${SLUICE}" "sluice" text "${text}")
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

help_as_roff(overview)
set(page ".TH SLUICE 1 \"\" \"sluice ${VERSION}\" \"User Commands\"
.SH NAME
sluice \\- a log-stream router: parses every line of your app's output into events and routes them
.SH SYNOPSIS
.B sluice
.I SUBCOMMAND
.RI [ OPTIONS ]
.SH DESCRIPTION
.nf
${overview}.fi
")
foreach(sub ${subcommands})
  help_as_roff(text ${sub})
  string(TOUPPER "${sub}" title)
  string(APPEND page ".SH \"SLUICE ${title}\"\n.nf\n${text}.fi\n")
endforeach()
string(APPEND page ".SH \"SEE ALSO\"
The README of the source tree, and the examples in share/sluice/examples/.
")
file(WRITE ${OUTPUT} "${page}")
