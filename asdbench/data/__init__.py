"""The data layer, input only: DCASE names (:mod:`.names`), the editions table (:mod:`.editions`),
official ground truth (:mod:`.ground_truth`), folder discovery (:mod:`.layout`, :mod:`.dcase`,
:mod:`.folder`), audio decoding (:mod:`.audio`), the decoded-clip cache (:mod:`.cache`) and
downloads (:mod:`.download`). Import the submodules; nothing here knows about training or runs."""
