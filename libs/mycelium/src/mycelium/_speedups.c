/*
 * mycelium._speedups: the send fast path of a local actor ref, in C.
 *
 * MailboxCore holds the five fields the fast path reads (the queue, the limit, the set of
 * accepted message classes, the dispatcher and the "scheduled" flag) and implements
 * try_send. It behaves exactly like the pure-Python MailboxCore in _core.py, which is the
 * reference: the fast path is taken only when the message's exact class is in `accepts`
 * and len(queue) < limit; everything else (first message, full, closed, unknown class)
 * goes to the Python method `put_nowait` of the subclass, which raises the right error.
 *
 * Invariants (kept by the Python subclasses that assign these fields):
 *   - limit > 0 implies queue is a collections.deque;
 *   - scheduled is true whenever the queue is non-empty.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *queue;
    PyObject *accepts;
    PyObject *dispatcher;
    Py_ssize_t limit;
    char scheduled;
} CoreObject;

static PyObject *deque_type = NULL;   /* collections.deque */
static PyObject *deque_append = NULL; /* collections.deque.append (a method descriptor) */
static PyObject *str_put_nowait = NULL;
static PyObject *str_schedule = NULL;
static PyObject *str_send_slow = NULL;
static PyObject *ready = NULL; /* the shared, already-completed awaitable returned by send */

/* Ready: an awaitable that is already complete. `await ready` evaluates to None at once.
 * It holds no state, so one instance is shared by every send. */
typedef struct {
    PyObject_HEAD
} ReadyObject;

static PyObject *
ready_await(PyObject *self)
{
    return Py_NewRef(self);
}

static PyObject *
ready_iternext(PyObject *self)
{
    return NULL; /* exhausted at once, no exception set: the await yields None */
}

static PyObject *
ready_send(PyObject *self, PyObject *arg)
{
    PyErr_SetNone(PyExc_StopIteration);
    return NULL;
}

static PyMethodDef ready_methods[] = {
    {"send", (PyCFunction)ready_send, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot ready_slots[] = {
    {Py_tp_doc, "An awaitable that is already complete (await gives None)."},
    {Py_am_await, ready_await},
    {Py_tp_iter, ready_await},
    {Py_tp_iternext, ready_iternext},
    {Py_tp_methods, ready_methods},
    {0, NULL},
};

static PyType_Spec ready_spec = {
    .name = "mycelium._speedups.Ready",
    .basicsize = sizeof(ReadyObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = ready_slots,
};

static int
core_traverse(CoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->queue);
    Py_VISIT(self->accepts);
    Py_VISIT(self->dispatcher);
    return 0;
}

static int
core_clear(CoreObject *self)
{
    Py_CLEAR(self->queue);
    Py_CLEAR(self->accepts);
    Py_CLEAR(self->dispatcher);
    return 0;
}

static void
core_dealloc(CoreObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    core_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* The fast path: 1 if msg was appended (and the actor scheduled if needed), 0 if the caller
 * must take the slow path, -1 on error. */
static inline int
core_fast_put(CoreObject *self, PyObject *msg)
{
    PyObject *queue = self->queue;
    PyObject *accepts = self->accepts;
    if (queue == NULL || accepts == NULL || self->limit <= 0 ||
        (PyObject *)Py_TYPE(queue) != deque_type) {
        return 0;
    }
    /* Hashing the message's class may run Python code (a metaclass __hash__) that could
     * replace these fields: hold our own references while we use them. */
    Py_INCREF(queue);
    Py_INCREF(accepts);
    int done = 0;
    int known = PySet_Contains(accepts, (PyObject *)Py_TYPE(msg));
    if (known < 0) {
        done = -1;
    }
    else if (known) {
        Py_ssize_t size = PyObject_Size(queue);
        if (size < 0) {
            done = -1;
        }
        else if (size < self->limit) {
            PyObject *args[2] = {queue, msg};
            PyObject *res = PyObject_Vectorcall(deque_append, args, 2, NULL);
            if (res == NULL) {
                done = -1;
            }
            else {
                Py_DECREF(res);
                done = 1;
            }
        }
    }
    Py_DECREF(accepts);
    Py_DECREF(queue);
    if (done == 1 && !self->scheduled) {
        if (self->dispatcher == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "actor has no dispatcher");
            return -1;
        }
        PyObject *res =
            PyObject_CallMethodOneArg(self->dispatcher, str_schedule, (PyObject *)self);
        if (res == NULL) {
            return -1;
        }
        Py_DECREF(res);
    }
    return done;
}

static PyObject *
core_try_send(CoreObject *self, PyObject *msg)
{
    int done = core_fast_put(self, msg);
    if (done < 0) {
        return NULL;
    }
    if (done) {
        Py_RETURN_NONE;
    }
    return PyObject_CallMethodOneArg((PyObject *)self, str_put_nowait, msg);
}

static PyObject *
core_send(CoreObject *self, PyObject *msg)
{
    int done = core_fast_put(self, msg);
    if (done < 0) {
        return NULL;
    }
    if (done) {
        return Py_NewRef(ready);
    }
    return PyObject_CallMethodOneArg((PyObject *)self, str_send_slow, msg);
}

static PyMethodDef core_methods[] = {
    {"try_send", (PyCFunction)core_try_send, METH_O,
     "Deliver msg without waiting (fast path in C; see LocalActorRef.try_send)."},
    {"tell", (PyCFunction)core_try_send, METH_O, "Alias of try_send."},
    {"send", (PyCFunction)core_send, METH_O,
     "Deliver msg now if there is room (returns a completed awaitable), else wait (see "
     "LocalActorRef.send)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef core_members[] = {
    {"_queue", T_OBJECT_EX, offsetof(CoreObject, queue), 0, NULL},
    {"accepts", T_OBJECT_EX, offsetof(CoreObject, accepts), 0, NULL},
    {"dispatcher", T_OBJECT_EX, offsetof(CoreObject, dispatcher), 0, NULL},
    {"_limit", T_PYSSIZET, offsetof(CoreObject, limit), 0, NULL},
    {"scheduled", T_BOOL, offsetof(CoreObject, scheduled), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot core_slots[] = {
    {Py_tp_doc, "The fields and the try_send fast path of a local actor ref (C)."},
    {Py_tp_dealloc, core_dealloc},
    {Py_tp_traverse, core_traverse},
    {Py_tp_clear, core_clear},
    {Py_tp_methods, core_methods},
    {Py_tp_members, core_members},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec core_spec = {
    .name = "mycelium._speedups.MailboxCore",
    .basicsize = sizeof(CoreObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = core_slots,
};

static int
speedups_exec(PyObject *module)
{
    PyObject *collections = PyImport_ImportModule("collections");
    if (collections == NULL) {
        return -1;
    }
    deque_type = PyObject_GetAttrString(collections, "deque");
    Py_DECREF(collections);
    if (deque_type == NULL) {
        return -1;
    }
    deque_append = PyObject_GetAttrString(deque_type, "append");
    if (deque_append == NULL) {
        return -1;
    }
    str_put_nowait = PyUnicode_InternFromString("put_nowait");
    str_schedule = PyUnicode_InternFromString("schedule");
    str_send_slow = PyUnicode_InternFromString("_send_slow");
    if (str_put_nowait == NULL || str_schedule == NULL || str_send_slow == NULL) {
        return -1;
    }
    PyObject *ready_type = PyType_FromSpec(&ready_spec);
    if (ready_type == NULL) {
        return -1;
    }
    ready = PyType_GenericNew((PyTypeObject *)ready_type, NULL, NULL);
    if (ready == NULL) {
        Py_DECREF(ready_type);
        return -1;
    }
    if (PyModule_AddObject(module, "Ready", ready_type) < 0) {
        Py_DECREF(ready_type);
        return -1;
    }
    if (PyModule_AddObject(module, "READY", Py_NewRef(ready)) < 0) {
        Py_DECREF(ready);
        return -1;
    }
    PyObject *core_type = PyType_FromSpec(&core_spec);
    if (core_type == NULL) {
        return -1;
    }
    if (PyModule_AddObject(module, "MailboxCore", core_type) < 0) {
        Py_DECREF(core_type);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mycelium._speedups",
    .m_doc = "The send fast path of Mycelium's local actor refs, in C (optional).",
    .m_size = 0,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
