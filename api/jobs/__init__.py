"""Jobs: training and batch-inference runs, from submit to their end.

HTTP-facing side: ``endpoints`` (routes), ``schemas``, ``submission`` (checks a
request before it is queued), ``service`` (create, read, list, cancel, finish;
never commits), ``repository`` (all SQL on the jobs table), ``state`` (the
lifecycle). What runs inside a worker is in ``execution``.
"""
