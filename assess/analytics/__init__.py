"""Analysis over groups of firms: national headline indicators on their national definitions
(``indicators``)."""
