"""The book's helpers: everything the chapters and assignments use that a user of the package does not need.

``plots`` (figures in one style), ``widgets`` (sliders over stored runs, live runs), ``explain`` (small instrumented runs
for the chapters), ``checks`` (the assignments' specific checks), ``grader`` (releasing and grading the
assignments), ``infonce_demo`` (chapter 7's estimator demo), ``modes`` (S3REC_MODE). They import the core
(:mod:`s3rec_lite`); the core never imports them.
"""
