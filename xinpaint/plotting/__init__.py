"""Figures shared by the chapters: qualitative panels, error maps, frame strips, animations.

``xinpaint.plotting.panels`` holds the evaluation figures (input with holes, each
method, zoom on a hole, error map); ``xinpaint.plotting.sequences`` the frame strips
and animations of sequences; ``xinpaint.plotting.preview`` the one-picture check
of ``xinpaint inpaint --preview`` (input with holes outlined, output, zoom).
"""
