"""nerve: health-check service instances and keep them registered while they are healthy.

Reads go-nerve's and Airbnb nerve's configurations (:mod:`.config`), runs ``tcp``/``http``/
``exec`` checks with rise/fall (:mod:`.checks`), turns their results into reports with
go-nerve's warm-up ramp and disable/drain flow (:mod:`.service`), publishes them to
ZooKeeper, the embedded registry, a file or stdout (:mod:`.reporters`), and serves
go-nerve's HTTP API (:mod:`.api`).  :mod:`.daemon` ties them into the ``carpool nerve``
process.  Each module's docstring lists where it deliberately differs from the originals.
"""
