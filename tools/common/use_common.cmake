# Included by each tool's CMakeLists.txt: tools/CMakeLists.txt only knows the tool folders, so the
# first tool configured brings in the shared library and the others reuse the target.
if(NOT TARGET vnic_tools_common)
  add_subdirectory(${CMAKE_CURRENT_LIST_DIR} ${PROJECT_BINARY_DIR}/tools/common)
endif()
