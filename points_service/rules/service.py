"""Operations of this domain."""
