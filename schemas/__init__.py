"""Wire contracts shared by every Caselink component: ids, header, bodies, directory.

Pure: pydantic models only, no I/O.
"""
