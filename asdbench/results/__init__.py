"""The run artifact: every path and file name of a run directory (:mod:`.layout`), the typed
records of ``run.json`` and ``trial.json`` (:mod:`.records`), the CSV tables (:mod:`.tables`) and
reading runs back (:mod:`.runs`, :mod:`.run_state`). Reports read runs only through here."""
