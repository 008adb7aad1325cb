# ctest unit/lambda_zip_arm64: build the arm64 Lambda zip (target lambda-zip-arm64, a cross
# build of the library) and check its binaries with check_zip.py.
# -D: ZIP, BUILD_DIR, PYTHON, CHECK, EMULATOR ("--emulator;<qemu-aarch64>" or empty).
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target lambda-zip-arm64
	RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "building lambda-zip-arm64 failed (${rc}):\n${out}")
endif()
string(REGEX MATCH "[^\n]*s3insights-lambda-arm64.zip: arm64[^\n]*" size_line "${out}")
message(STATUS "${size_line}")
execute_process(COMMAND ${PYTHON} ${CHECK} ${ZIP} --arch arm64 ${EMULATOR} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "check_zip.py found problems in ${ZIP}")
endif()
