"""The Discord face of qabot: client setup, one cog per concern, rendering to embeds."""
