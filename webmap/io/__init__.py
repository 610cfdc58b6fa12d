"""Importers (acled, ucdp, geojson, csv) and exporters (geojson, csv, gpkg)."""
