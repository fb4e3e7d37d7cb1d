/*
 * mycelium._speedups: the send fast path of a local actor ref, and the dispatcher's batch
 * loop (run_batch, further down), in C.
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

/* DispatcherCore: the fields of a dispatcher that scheduling touches (see _core.py). */
typedef struct {
    PyObject_HEAD
    PyObject *ready;      /* deque of cells waiting to run */
    PyObject *call_soon;  /* the loop's call_soon */
    PyObject *run_handle; /* the dispatcher's bound _run */
    char pending;         /* a _run is scheduled or running */
} DispatcherCoreObject;

static PyTypeObject *core_type_ptr = NULL;       /* MailboxCore */
static PyTypeObject *dispatcher_type_ptr = NULL; /* DispatcherCore */
static int dispatcher_schedule(DispatcherCoreObject *d, PyObject *cell);

static PyObject *deque_type = NULL;   /* collections.deque */
static PyObject *deque_append = NULL; /* collections.deque.append (a method descriptor) */
static PyObject *deque_popleft = NULL; /* collections.deque.popleft (a method descriptor) */
static PyObject *str_put_nowait = NULL;
static PyObject *str_schedule = NULL;
static PyObject *str_send_slow = NULL;
static PyObject *ready_awaitable = NULL; /* the shared, completed awaitable returned by send */

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

static PySendResult
ready_am_send(PyObject *self, PyObject *arg, PyObject **result)
{
    *result = Py_NewRef(Py_None); /* complete at once: the await evaluates to None */
    return PYGEN_RETURN;
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
    {Py_am_send, ready_am_send},
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
        PyObject *dispatcher = self->dispatcher;
        if (dispatcher == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "actor has no dispatcher");
            return -1;
        }
        if (PyObject_TypeCheck(dispatcher, dispatcher_type_ptr)) {
            if (dispatcher_schedule((DispatcherCoreObject *)dispatcher, (PyObject *)self) < 0) {
                return -1;
            }
        }
        else {
            PyObject *res =
                PyObject_CallMethodOneArg(dispatcher, str_schedule, (PyObject *)self);
            if (res == NULL) {
                return -1;
            }
            Py_DECREF(res);
        }
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
        return Py_NewRef(ready_awaitable);
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


/* ------------------------------------------------------------------------------------------
 * DispatcherCore: schedule(cell) in C, so that the C send path wakes an idle actor without a
 * Python call. Behaves like PyDispatcherCore.schedule in _core.py (the reference).
 */
static int
dispatcher_schedule(DispatcherCoreObject *d, PyObject *cell)
{
    if (d->ready == NULL || (PyObject *)Py_TYPE(d->ready) != deque_type || d->call_soon == NULL ||
        d->run_handle == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "dispatcher is not initialised");
        return -1;
    }
    if (PyObject_TypeCheck(cell, core_type_ptr)) {
        ((CoreObject *)cell)->scheduled = 1;
    }
    else if (PyObject_SetAttrString(cell, "scheduled", Py_True) < 0) {
        return -1;
    }
    PyObject *args[2] = {d->ready, cell};
    PyObject *res = PyObject_Vectorcall(deque_append, args, 2, NULL);
    if (res == NULL) {
        return -1;
    }
    Py_DECREF(res);
    if (!d->pending) {
        d->pending = 1;
        res = PyObject_CallOneArg(d->call_soon, d->run_handle);
        if (res == NULL) {
            d->pending = 0;
            return -1;
        }
        Py_DECREF(res);
    }
    return 0;
}

static PyObject *
dispatcher_schedule_py(DispatcherCoreObject *self, PyObject *cell)
{
    if (dispatcher_schedule(self, cell) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
dispatcher_traverse(DispatcherCoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->ready);
    Py_VISIT(self->call_soon);
    Py_VISIT(self->run_handle);
    return 0;
}

static int
dispatcher_clear(DispatcherCoreObject *self)
{
    Py_CLEAR(self->ready);
    Py_CLEAR(self->call_soon);
    Py_CLEAR(self->run_handle);
    return 0;
}

static void
dispatcher_dealloc(DispatcherCoreObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    dispatcher_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyMethodDef dispatcher_methods[] = {
    {"schedule", (PyCFunction)dispatcher_schedule_py, METH_O,
     "Put cell on the ready queue (precondition: cell.scheduled is False)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef dispatcher_members[] = {
    {"_ready", T_OBJECT_EX, offsetof(DispatcherCoreObject, ready), 0, NULL},
    {"_call_soon", T_OBJECT_EX, offsetof(DispatcherCoreObject, call_soon), 0, NULL},
    {"_run_handle", T_OBJECT_EX, offsetof(DispatcherCoreObject, run_handle), 0, NULL},
    {"_pending", T_BOOL, offsetof(DispatcherCoreObject, pending), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot dispatcher_slots[] = {
    {Py_tp_doc, "The scheduling fields and schedule() of a dispatcher (C)."},
    {Py_tp_dealloc, dispatcher_dealloc},
    {Py_tp_traverse, dispatcher_traverse},
    {Py_tp_clear, dispatcher_clear},
    {Py_tp_methods, dispatcher_methods},
    {Py_tp_members, dispatcher_members},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec dispatcher_spec = {
    .name = "mycelium._speedups.DispatcherCore",
    .basicsize = sizeof(DispatcherCoreObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = dispatcher_slots,
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
    deque_popleft = PyObject_GetAttrString(deque_type, "popleft");
    if (deque_popleft == NULL) {
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
    ready_awaitable = PyType_GenericNew((PyTypeObject *)ready_type, NULL, NULL);
    if (ready_awaitable == NULL) {
        Py_DECREF(ready_type);
        return -1;
    }
    if (PyModule_AddObject(module, "Ready", ready_type) < 0) {
        Py_DECREF(ready_type);
        return -1;
    }
    if (PyModule_AddObject(module, "READY", Py_NewRef(ready_awaitable)) < 0) {
        Py_DECREF(ready_awaitable);
        return -1;
    }
    PyObject *core_type = PyType_FromSpec(&core_spec);
    if (core_type == NULL) {
        return -1;
    }
    core_type_ptr = (PyTypeObject *)Py_NewRef(core_type); /* kept for type checks */
    if (PyModule_AddObject(module, "MailboxCore", core_type) < 0) {
        Py_DECREF(core_type);
        return -1;
    }
    PyObject *dispatcher_type = PyType_FromSpec(&dispatcher_spec);
    if (dispatcher_type == NULL) {
        return -1;
    }
    dispatcher_type_ptr = (PyTypeObject *)Py_NewRef(dispatcher_type);
    if (PyModule_AddObject(module, "DispatcherCore", dispatcher_type) < 0) {
        Py_DECREF(dispatcher_type);
        return -1;
    }
    return 0;
}


/* ------------------------------------------------------------------------------------------
 * run_batch: the dispatcher's inner loop (see py_run_batch in _core.py, the reference).
 *
 * run_batch(queue, handle, batch, ready, ask_type) -> (done, code, a, b, msg)
 * Handles up to `batch` messages of `queue`: calls handle(msg) and drives the coroutine with
 * PyIter_Send (no task, no StopIteration, no __await__ wrapper for native coroutines). Stops
 * early at a question, a handler that suspends or raises, or a handler that made another actor
 * ready (`ready` grew). The codes are those of _core.py.
 */
enum { BATCH_DONE = 0, BATCH_HANDOFF = 1, BATCH_ASK = 2, BATCH_PARKED = 3, BATCH_RAISED = 4 };

/* (done, code, a, b, msg), stealing a, b and msg (NULL means None). */
static PyObject *
batch_outcome(Py_ssize_t done, int code, PyObject *a, PyObject *b, PyObject *msg)
{
    PyObject *result = PyTuple_New(5);
    if (result == NULL) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(msg);
        return NULL;
    }
    PyObject *n = PyLong_FromSsize_t(done);
    PyObject *c = PyLong_FromLong(code);
    if (n == NULL || c == NULL) {
        Py_XDECREF(n);
        Py_XDECREF(c);
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(msg);
        Py_DECREF(result);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, n);
    PyTuple_SET_ITEM(result, 1, c);
    PyTuple_SET_ITEM(result, 2, a != NULL ? a : Py_NewRef(Py_None));
    PyTuple_SET_ITEM(result, 3, b != NULL ? b : Py_NewRef(Py_None));
    PyTuple_SET_ITEM(result, 4, msg != NULL ? msg : Py_NewRef(Py_None));
    return result;
}

/* The exception being raised, as an object with its traceback; the error is cleared. */
static PyObject *
take_exception(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value == NULL) {
        value = Py_NewRef(Py_None);
    }
    else if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

static PyObject *
speedups_run_batch(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "run_batch(queue, handle, batch, ready, ask_type)");
        return NULL;
    }
    PyObject *queue = args[0];
    PyObject *handle = args[1];
    PyObject *ready = args[3];
    PyObject *ask_type = args[4];
    Py_ssize_t batch = PyLong_AsSsize_t(args[2]);
    if (batch == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if ((PyObject *)Py_TYPE(queue) != deque_type || (PyObject *)Py_TYPE(ready) != deque_type) {
        PyErr_SetString(PyExc_TypeError, "run_batch needs deques for queue and ready");
        return NULL;
    }
    Py_ssize_t before = PyObject_Size(ready);
    if (before < 0) {
        return NULL;
    }
    Py_ssize_t done = 0;
    while (done < batch) {
        Py_ssize_t left = PyObject_Size(queue);
        if (left < 0) {
            return NULL;
        }
        if (left == 0) {
            break;
        }
        PyObject *msg = PyObject_Vectorcall(deque_popleft, &queue, 1, NULL);
        if (msg == NULL) {
            return NULL;
        }
        if ((PyObject *)Py_TYPE(msg) == ask_type) {
            return batch_outcome(done, BATCH_ASK, msg, NULL, NULL);
        }
        PyObject *awaitable = PyObject_CallOneArg(handle, msg);
        if (awaitable == NULL) {
            return batch_outcome(done, BATCH_RAISED, take_exception(), NULL, msg);
        }
        PyObject *steps;
        if (PyCoro_CheckExact(awaitable)) {
            steps = awaitable;
        }
        else {
            PyAsyncMethods *am = Py_TYPE(awaitable)->tp_as_async;
            if (am == NULL || am->am_await == NULL) {
                PyErr_Format(PyExc_TypeError, "handle() returned %.100s, not an awaitable",
                             Py_TYPE(awaitable)->tp_name);
                Py_DECREF(awaitable);
                return batch_outcome(done, BATCH_RAISED, take_exception(), NULL, msg);
            }
            steps = am->am_await(awaitable);
            Py_DECREF(awaitable);
            if (steps == NULL) {
                return batch_outcome(done, BATCH_RAISED, take_exception(), NULL, msg);
            }
        }
        PyObject *yielded = NULL;
        PySendResult sent = PyIter_Send(steps, Py_None, &yielded);
        if (sent == PYGEN_NEXT) {
            return batch_outcome(done, BATCH_PARKED, steps, yielded, msg);
        }
        Py_DECREF(steps);
        if (sent == PYGEN_ERROR) {
            return batch_outcome(done, BATCH_RAISED, take_exception(), NULL, msg);
        }
        Py_DECREF(msg);
        Py_XDECREF(yielded); /* the handler's return value: ignored for a tell */
        done++;
        Py_ssize_t now = PyObject_Size(ready);
        if (now < 0) {
            return NULL;
        }
        if (now != before) {
            return batch_outcome(done, BATCH_HANDOFF, NULL, NULL, NULL);
        }
    }
    return batch_outcome(done, BATCH_DONE, NULL, NULL, NULL);
}

static PyMethodDef speedups_functions[] = {
    {"run_batch", (PyCFunction)(void (*)(void))speedups_run_batch, METH_FASTCALL,
     "run_batch(queue, handle, batch, ready, ask_type) -> (done, code, a, b, msg); see _core.py."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mycelium._speedups",
    .m_doc = "The send fast path of Mycelium's local actor refs, in C (optional).",
    .m_size = 0,
    .m_methods = speedups_functions,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
