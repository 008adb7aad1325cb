# The API reference: `cmake --build build --target docs` runs Doxygen over include/s3insights/
# into build/docs/api/ (index.html) and fails when Doxygen warns (an undocumented member, a
# broken reference). Included from the top CMakeLists.txt when S3I_BUILD_DOCS is on; without
# doxygen (apt-get install doxygen) there is no docs target and the unit/doxygen test skips.
find_program(S3I_DOXYGEN doxygen)
set(S3I_DOCS_OUTPUT ${PROJECT_BINARY_DIR}/docs/api)
set(S3I_DOCS_WARNINGS ${PROJECT_BINARY_DIR}/docs/doxygen-warnings.log)
set(S3I_DOXYFILE ${PROJECT_BINARY_DIR}/docs/Doxyfile)
configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${S3I_DOXYFILE} @ONLY)
set(S3I_DOCS_COMMAND ${CMAKE_COMMAND} -DDOXYGEN=${S3I_DOXYGEN} -DDOXYFILE=${S3I_DOXYFILE}
	-DOUTPUT=${S3I_DOCS_OUTPUT} -DWARNINGS=${S3I_DOCS_WARNINGS}
	-P ${PROJECT_SOURCE_DIR}/cmake/S3iDoxygenRun.cmake)
if(S3I_DOXYGEN)
	add_custom_target(docs COMMAND ${S3I_DOCS_COMMAND}
		DEPENDS ${S3I_PUBLIC_HEADERS} ${PROJECT_SOURCE_DIR}/docs/Doxyfile.in
		COMMENT "Doxygen: API reference in ${S3I_DOCS_OUTPUT}/index.html" VERBATIM)
else()
	message(STATUS "doxygen not found: no docs target (apt-get install doxygen)")
endif()
