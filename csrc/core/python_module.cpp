// Makes the op library importable as `seq2seq_ext._C`. Importing it runs the
// static TORCH_LIBRARY / TORCH_LIBRARY_IMPL registrations; the module itself is
// empty. Built only by setup.py (the CMake library has no Python in it).
#include <Python.h>

extern "C" {
PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
}
