"""What people read: leaderboards, paired tests, the paper's table layout, figures and the
``evaluate`` report. Reads run directories through :mod:`asdbench.results` and scores with
:mod:`asdbench.scoring`; never trains, never imports torch."""
