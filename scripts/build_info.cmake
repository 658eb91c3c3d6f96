# Writes build_info.h with the current git commit (and -dirty) at every build, touching the file
# only when the text changes so nothing recompiles needlessly. Called by the repro_build_info target.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE REPRO_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE REPRO_GIT_DIRTY OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT REPRO_GIT_COMMIT)
  set(REPRO_GIT_COMMIT "unknown")
endif()
if(REPRO_GIT_DIRTY)
  set(REPRO_GIT_COMMIT "${REPRO_GIT_COMMIT}-dirty")
endif()
configure_file(${SOURCE_DIR}/base/util/build_info.h.in ${OUTPUT}.tmp @ONLY)
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
