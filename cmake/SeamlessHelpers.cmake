# Small helpers so each folder's CMakeLists.txt reads as a list of targets.
#
#   seamless_library(NAME SRCS a.cc b.cc DEPS x y [TORCH])
#   seamless_test(NAME SRCS a_test.cc DEPS x [LABELS slow] [TIMEOUT s])
#   seamless_proto(NAME PROTOS a.proto [GRPC] [DEPS other_proto])
#
# TORCH marks a target whose sources include LibTorch headers: it gets the shared
# precompiled header (see core/base/torch_pch.h) so each file does not re-parse torch.

set(SEAMLESS_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers)

function(_seamless_common target)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_compile_options(${target} PRIVATE ${SEAMLESS_WARNINGS})
endfunction()

function(_seamless_use_torch target)
  target_link_libraries(${target} PUBLIC torch)
  if(TARGET seamless_torch_pch AND NOT "${target}" STREQUAL "seamless_torch_pch")
    target_precompile_headers(${target} REUSE_FROM seamless_torch_pch)
  endif()
endfunction()

function(seamless_library name)
  cmake_parse_arguments(ARG "TORCH" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  _seamless_common(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  if(ARG_TORCH)
    _seamless_use_torch(${name})
  endif()
endfunction()

function(seamless_test name)
  cmake_parse_arguments(ARG "TORCH" "TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  _seamless_common(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  if(ARG_TORCH)
    _seamless_use_torch(${name})
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "SEAMLESS_BINARY=${PROJECT_BINARY_DIR}/seamless;SEAMLESS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()

function(seamless_proto name)
  cmake_parse_arguments(ARG "GRPC" "" "PROTOS;DEPS" ${ARGN})
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(base ${proto} NAME_WE)
    set(out ${PROJECT_BINARY_DIR}/proto)
    set(outputs ${out}/${base}.pb.cc ${out}/${base}.pb.h)
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND outputs ${out}/${base}.grpc.pb.cc ${out}/${base}.grpc.pb.h)
      set(plugin_args --grpc_out=${PROJECT_BINARY_DIR} --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc --proto_path=${PROJECT_SOURCE_DIR} --cpp_out=${PROJECT_BINARY_DIR} ${plugin_args}
              ${CMAKE_CURRENT_SOURCE_DIR}/${proto}
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${proto} protobuf::protoc
      COMMENT "protoc ${proto}")
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${name} PUBLIC gRPC::grpc++)
  endif()
endfunction()
