"""People across domains: finding a volunteer who registered twice and merging the two profiles."""
