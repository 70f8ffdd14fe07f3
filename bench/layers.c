/* Probes for bench/layers.py, a CPython extension module `layers_probes`: probe_N(f) calls f()
 * and returns its result. Callgrind's inclusive cost of probe_N is the cost of that call, so each
 * layer wrapped in a probe of its own is counted apart. A C function of the module, not a ctypes
 * call: libffi's stack switching hides the callee's frame from callgrind. Built with
 * -O0 -fno-optimize-sibling-calls, so that no probe is a tail call (its frame would vanish). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <valgrind/callgrind.h>

#define PROBE(n) \
    static PyObject *probe_##n(PyObject *self, PyObject *f) { return PyObject_CallNoArgs(f); }
#define PROBES8(n) PROBE(n##0) PROBE(n##1) PROBE(n##2) PROBE(n##3) \
                   PROBE(n##4) PROBE(n##5) PROBE(n##6) PROBE(n##7)
PROBES8(1) PROBES8(2) PROBES8(3) PROBES8(4) PROBES8(5) PROBES8(6)

static PyObject *measure_start(PyObject *self, PyObject *unused) {
    CALLGRIND_ZERO_STATS;
    CALLGRIND_START_INSTRUMENTATION;
    Py_RETURN_NONE;
}

static PyObject *measure_dump(PyObject *self, PyObject *name) {
    const char *text = PyUnicode_AsUTF8(name);
    if (text == NULL) return NULL;
    CALLGRIND_DUMP_STATS_AT(text);
    Py_RETURN_NONE;
}

static PyObject *measure_stop(PyObject *self, PyObject *unused) {
    CALLGRIND_STOP_INSTRUMENTATION;
    Py_RETURN_NONE;
}

#define ENTRY(n) {"probe_" #n, probe_##n, METH_O, NULL},
#define ENTRIES8(n) ENTRY(n##0) ENTRY(n##1) ENTRY(n##2) ENTRY(n##3) \
                    ENTRY(n##4) ENTRY(n##5) ENTRY(n##6) ENTRY(n##7)
static PyMethodDef methods[] = {
    ENTRIES8(1) ENTRIES8(2) ENTRIES8(3) ENTRIES8(4) ENTRIES8(5) ENTRIES8(6)
    {"measure_start", measure_start, METH_NOARGS, NULL},
    {"measure_dump", measure_dump, METH_O, NULL},
    {"measure_stop", measure_stop, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "layers_probes", NULL, -1, methods};

PyMODINIT_FUNC PyInit_layers_probes(void) { return PyModule_Create(&module); }
