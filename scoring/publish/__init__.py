"""The 公示 (public notice of the assessment results) and the internal 整顿/软弱涣散 list, as Word and PDF.

- :mod:`scoring.publish.content`  what the documents say, from the results JSON (pure);
- :mod:`scoring.publish.dates`    the 公示 period in working days, Chinese dates;
- :mod:`scoring.publish.render`   Word from a docxtpl template (``templates/notice.docx``, ``internal.docx``);
- :mod:`scoring.publish.pdf`      PDF by LibreOffice headless, Chinese fonts mapped to Noto CJK and embedded;
- :mod:`scoring.publish.command`  ``scoring publish`` (and ``scoring run --publish``);
- :mod:`scoring.publish.build_templates`  builds the shipped templates.
"""
