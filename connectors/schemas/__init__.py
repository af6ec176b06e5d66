"""JSON Schemas dmlake validates source documents with (shipped as package data)."""
