# Runs one command and checks its exit status and, optionally, its output:
#   cmake -DCOMMAND=prog|arg|arg -DEXPECT_EXIT=N [-DEXPECT_OUTPUT=regex] -P expect.cmake
# ("|" separates arguments because ";" would be split by add_test.)
string(REPLACE "|" ";" command "${COMMAND}")
execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT status STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "exit status ${status}, expected ${EXPECT_EXIT}")
endif()
if(DEFINED EXPECT_OUTPUT AND NOT "${out}${err}" MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "output does not match '${EXPECT_OUTPUT}'")
endif()
