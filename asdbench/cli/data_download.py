"""``asdbench data download YEAR``: the official DCASE Task 2 archives (see :mod:`asdbench.data.download`)."""

from __future__ import annotations

from pathlib import Path

import click

from ..data.editions import VERSIONS

SET_CHOICES = ["dev", "additional", "eval", "ground-truth", "all"]


@click.command()
@click.argument("year", type=click.Choice(list(VERSIONS)))
@click.option("--set", "sets", type=click.Choice(SET_CHOICES), multiple=True, default=("dev",), show_default=True,
              help="dev (development data), additional (additional training data), eval (evaluation test data), "
                   "ground-truth (where the evaluation labels are published), all (dev + additional + eval). Repeatable.")
@click.option("--machine", "machines", multiple=True, metavar="TYPE", help="Only these machine types (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True,
              help="Folder for archives/ and the extracted dcase<YEAR>/ dataset.")
@click.option("--mirror", default=None, metavar="URL",
              help="Fetch <URL>/<record>/files/<file> instead of zenodo.org (a local mirror).")
@click.option("--list", "list_only", is_flag=True, help="Only list the archives and their addresses.")
@click.option("--remove-archives", is_flag=True, help="Delete each zip once it is verified and extracted.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def download(year: str, sets: tuple[str, ...], machines: tuple[str, ...], out: Path, mirror: str | None,
             list_only: bool, remove_archives: bool, quiet: bool) -> None:
    """Download, verify and extract the DCASE YEAR Task 2 archives into the layout asdbench reads
    (resumable: run it again after an interruption)."""
    from ..data.download import GROUND_TRUTH, SETS, archives
    from ..data.download import download as fetch

    wanted = list(SETS) if "all" in sets else [s for s in SETS if s in sets]
    if "ground-truth" in sets:
        click.echo(f"DCASE{year} evaluation ground truth: {GROUND_TRUTH[year]}. It is not downloaded: put it in "
                   f"{out / f'dcase{year}'} (data check looks there) or pass its folder to --ground-truth.")
        if not wanted:
            return
    selected = archives(year, wanted, machines or None)
    if list_only or not selected:
        for a in selected:
            click.echo(f"{a.set:<10} {a.machine:<15} {a.url(mirror)}  checksum: {a.checksum or 'none found'}"
                       f"{'' if a.verified else '  (address unverified)'}")
        for source in dict.fromkeys(a.source for a in selected if a.source):
            click.echo(f"addresses checked against: {source}")
        return
    if not mirror and not all(a.verified for a in selected):
        click.echo("Note: some of these Zenodo addresses are not verified; archives are checked by size, zip "
                   "integrity and a recorded SHA-256.", err=True)
    folders = fetch(selected, out, mirror=mirror, progress=not quiet, keep_archives=not remove_archives,
                    echo=lambda line: click.echo(line, err=True))
    for folder in dict.fromkeys(folders):
        click.echo(f"ready: {folder}  (asdbench data check {folder.parent.parent})")
