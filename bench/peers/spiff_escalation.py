"""Runs the ticket escalation process (create → L1 → L2 → solve) N times in SpiffWorkflow,
persisting each workflow to SQLite after every step, the way a BPMN-based helpdesk would.
Prints processes per second. Usage: python spiff_escalation.py N DB_PATH"""
import os
import sqlite3
import sys
import time

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState

n = int(sys.argv[1])
db = sqlite3.connect(sys.argv[2])
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS workflow (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")

parser = BpmnParser()
parser.add_bpmn_file(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ticket-escalation.bpmn"))
spec = parser.get_spec("ticket")
serializer = BpmnWorkflowSerializer()


def save(i, workflow):
    with db:
        db.execute("INSERT OR REPLACE INTO workflow (id, state) VALUES (?, ?)", (i, serializer.serialize_json(workflow)))


start = time.perf_counter()
for i in range(n):
    workflow = BpmnWorkflow(spec)
    workflow.do_engine_steps()
    save(i, workflow)
    for step in ("triage_l1", "work_l2", "solve"):
        (task,) = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == step]
        task.data["agent"] = "bob"
        task.run()
        workflow.do_engine_steps()
        save(i, workflow)
    assert workflow.is_completed()
elapsed = time.perf_counter() - start
print(f"{n / elapsed:.1f}")
